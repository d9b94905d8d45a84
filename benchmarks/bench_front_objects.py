"""Objects in front of the lower face that are not hands, on lfw-dev: what the per-pixel test finds
and what it costs per face.

For every lfw-dev image where dlib's HOG detector and 68 landmarks find the selected face, in one
process, the faces split in two halves by the SHA-256 of the identity's name (first byte even:
``calibration``, where the limits of :mod:`maskforge.occlude.front_objects` were set; odd:
``report``):

- caught: of the surveyed images with an object in front (``OBJECTS`` of
  tests/test_occlude_front_objects.py), those where ``keep`` leaves every marked pixel out of the
  mask or rejects the face (``occluded_lower_face``);
- false positives: of the other faces (the surveyed hands of tests/test_occlude_front.py left
  out too), those whose mask ``keep`` alters (a pixel found that the mask would cover) or that it
  rejects, and those ``skip`` rejects, with their names;
- cost: :func:`~maskforge.occlude.front_objects.find_objects` and ``render_occluder`` (the
  default mask, no check) in ms per face, timed face by face in turn.

Usage: python benchmarks/bench_front_objects.py [--lfw DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maskforge.detect import Landmarker68, make_detector, select_face  # noqa: E402
from maskforge.io.decode import decode_image  # noqa: E402
from maskforge.occlude import default_library, render_occluder  # noqa: E402
from maskforge.occlude.front import decide  # noqa: E402
from maskforge.occlude.front_objects import find_objects  # noqa: E402
from tests.test_occlude_front import HANDS  # noqa: E402
from tests.test_occlude_front_objects import OBJECTS  # noqa: E402


def half(name: str) -> str:
    """``calibration`` or ``report``: the half of the identity of image ``name``."""
    digest = hashlib.sha256(name.rsplit("_", 1)[0].encode()).digest()
    return "calibration" if digest[0] % 2 == 0 else "report"


def main() -> None:
    ap = argparse.ArgumentParser()
    default = os.environ.get("MASKFORGE_LFW_DIR", str(ROOT.parent / "shared/faces/lfw-dev"))
    ap.add_argument("--lfw", default=default)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    det, lmk, lib = make_detector("dlib-hog"), Landmarker68(), default_library()
    t_find = t_render = 0.0
    n = 0
    caught: dict[str, list[str]] = {"calibration": [], "report": []}
    missed: dict[str, list[str]] = {"calibration": [], "report": []}
    altered: dict[str, list[str]] = {"calibration": [], "report": []}
    skipped: dict[str, list[str]] = {"calibration": [], "report": []}
    plain: dict[str, int] = {"calibration": 0, "report": 0}
    for path in sorted(Path(args.lfw).glob("*/*.jpg"))[: args.limit]:
        img = decode_image(path)
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        if face is None:
            continue
        name, lm = path.stem, np.asarray(lmk(img, face.box), np.float64)
        t0 = time.perf_counter()
        found = find_objects(img, lm)
        t1 = time.perf_counter()
        mask = render_occluder(img, lm, "surgical-blue", np.random.default_rng(1), library=lib).mask
        t_find, t_render, n = t_find + t1 - t0, t_render + time.perf_counter() - t1, n + 1
        keep = decide([], lm, img.shape, "keep", found)
        h = half(name)
        if name in OBJECTS:
            xs, ys = np.array(OBJECTS[name]).T
            ok = keep.reject is not None or (
                keep.keep is not None and not (mask & ~keep.keep)[ys, xs].any()
            )
            (caught if ok else missed)[h].append(name + (" (rejected)" if keep.reject else ""))
            continue
        if name in HANDS:
            continue
        plain[h] += 1
        if keep.reject is not None or (keep.keep is not None and (keep.keep & mask).any()):
            altered[h].append(f"{name} ({found.cover:.0%} {'/'.join(found.kinds)}"
                              f"{', rejected' if keep.reject else ''})")  # fmt: skip
        if decide([], lm, img.shape, "skip", found).reject is not None:
            skipped[h].append(name)
    print(f"faces: {n} (dlib-hog + 68 landmarks; measured under the machine's load)")
    print(f"find_objects: {1000 * t_find / n:.2f} ms/face; render_occluder (surgical-blue): "
          f"{1000 * t_render / n:.2f} ms/face ({t_find / t_render:.2f}x the render)")  # fmt: skip
    for h in ("calibration", "report"):
        listed = len(caught[h]) + len(missed[h])
        print(
            f"\n[{h}] surveyed objects caught: {len(caught[h])} of {listed}: {', '.join(caught[h])}"
        )
        print(f"[{h}] missed: {', '.join(missed[h]) or '-'}")
        print(f"[{h}] faces with nothing surveyed in front: {plain[h]}; keep alters or rejects "
              f"{len(altered[h])} ({len(altered[h]) / max(plain[h], 1):.1%}): {', '.join(altered[h]) or '-'}")  # fmt: skip
        print(f"[{h}] skip rejects {len(skipped[h])} ({len(skipped[h]) / max(plain[h], 1):.1%})")


if __name__ == "__main__":
    main()
