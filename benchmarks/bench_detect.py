"""Benchmark of the detect stage on lfw-dev: images/s per core, beside a bare loop.

    python benchmarks/bench_detect.py [--lfw DIR] [--detectors dlib-hog,mtcnn,dlib-cnn]
                                      [--limit-cnn 40] [--repeat 2]
                                      [--rwmfd DIR] [--sheet /tmp/rwmfd_sheet.png]
                                      [--clock wall|cpu]

A detector may carry its landmarks after a colon: ``blazeface:mesh`` runs MediaPipe's detector
and Face Mesh (``landmarks = "mesh"``); the bare loop for it is the detector's and the mesh's own
batched calls. After an ``@``, the runtime of MediaPipe's models (``detect.runtime``):
``blazeface:mesh@torch,blazeface:mesh@litert`` compares both in one run (without ``@``: ``auto``,
LiteRT when installed); each row names the runtime that ran. ``--rwmfd`` also counts the rwmfd-dev images (real masked photos) where each
detector finds a face (dlib-hog, mtcnn, blazeface, blazeface-full), and writes a contact sheet of
what each finds and misses to ``--sheet`` (under /tmp: never commit images derived from the data).

Everything runs on one thread (OpenCV, torch, dlib are single-threaded here), so images/s is a
per-core figure. Files are read into memory first; both loops include decoding. For each detector:

- ``stage``: ``DetectStage(...)`` over batches of 32 decoded images (detect, select, 68 points,
  align to 112x112, pose, output dataclasses);
- ``bare``: the same library calls in a plain loop (decode, the detector's own call with the same
  upsample fallback, the dlib 68-point predictor), nothing else.

The ratio stage/bare is the stage's overhead. The two loops alternate chunk by chunk (32 images)
and each chunk keeps its best time over ``--repeat`` runs, so both see the same machine load. It also prints quality on the
same images: detection rate and, for dlib-hog, the re-detected eye-centre error on the 112 crops.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)

ROOT = Path(__file__).resolve().parent.parent
BATCH = 32


def decoder():
    """``maskforge.io.decode.decode_image`` when the project has it, else OpenCV."""
    try:
        from maskforge.io.decode import decode_image

        return "maskforge.io.decode.decode_image", decode_image
    except ImportError:

        def decode(data: bytes) -> np.ndarray:
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

        return "cv2.imdecode", decode


def stage_run(stage, blobs, decode):
    out = []
    for start in range(0, len(blobs), BATCH):
        out.extend(stage([decode(b) for b in blobs[start : start + BATCH]]))
    return out


def bare_hog(blobs, decode, detector, predictor):
    found = 0
    for data in blobs:
        image = decode(data)
        rects, _, _ = detector.run(image, 0, 0.0)
        if not rects:
            rects, _, _ = detector.run(image, 1, 0.0)
        for rect in rects:
            predictor(image, rect)
        found += bool(rects)
    return found


def bare_cnn(blobs, decode, detector, predictor):
    import dlib

    found = 0
    for data in blobs:
        image = decode(data)
        dets = detector(image, 0)
        if len(dets) == 0:
            dets = detector(image, 1)
        for det in dets:
            shape = predictor(image, det.rect)
            predictor(image, dlib.rectangle(shape.rect))  # the refinement pass of the stage
        found += len(dets) > 0
    return found


def bare_mtcnn(blobs, decode, mtcnn, predictor):
    import dlib

    found = 0
    for start in range(0, len(blobs), BATCH):
        images = [decode(b) for b in blobs[start : start + BATCH]]
        boxes, _, _ = mtcnn.detect(np.stack(images), landmarks=True)
        for image, b in zip(images, boxes, strict=True):
            if b is None:
                continue
            found += 1
            x1, y1, x2, y2 = (int(v) for v in b[0])
            predictor(image, dlib.rectangle(x1, y1, x2, y2))
    return found


def bare_blazeface(blobs, decode, detector, mesh):
    found = 0
    for start in range(0, len(blobs), BATCH):
        images = [decode(b) for b in blobs[start : start + BATCH]]
        faces = detector.detect(images)
        pairs = [(im, f[0]) for im, f in zip(images, faces, strict=True) if f]
        if pairs:
            mesh([p[0] for p in pairs], [p[1] for p in pairs])
        found += len(pairs)
    return found


def rwmfd_counts(folder: str, sheet: str) -> None:
    """Images of rwmfd-dev with at least one face, per detector, and a found/missed sheet."""
    from maskforge.detect import make_detector
    from maskforge.grid import tile_grid
    from maskforge.io.decode import decode_image

    paths = sorted(Path(folder).glob("*/*.jpg"))
    images = [decode_image(p) for p in paths]
    names = ("dlib-hog", "mtcnn", "blazeface", "blazeface-full")
    found = {}
    for name in names:
        kw = {} if name == "dlib-hog" else {"device": "cpu"}
        det = make_detector(name, **kw)
        t, faces = timed(lambda d=det: [d.detect([im])[0] for im in images])
        found[name] = [bool(f) for f in faces]
        print(
            f"rwmfd-dev {name:14s} faces found in {sum(found[name]):3d}/{len(images)} images "
            f"({1e3 * t / len(images):.1f} ms/image, measured under load)",
            flush=True,
        )
    both = [a or b for a, b in zip(found["blazeface"], found["blazeface-full"], strict=True)]
    print(f"rwmfd-dev blazeface or full  faces found in {sum(both)}/{len(images)} images")
    cols = [
        (
            "blazeface found, mtcnn missed",
            lambda k: found["blazeface"][k] and not found["mtcnn"][k],
        ),
        (
            "mtcnn found, blazeface missed",
            lambda k: found["mtcnn"][k] and not found["blazeface"][k],
        ),
        ("both missed", lambda k: not found["blazeface"][k] and not found["mtcnn"][k]),
        ("both found", lambda k: found["blazeface"][k] and found["mtcnn"][k]),
    ]
    rows = [[images[k] for k in range(len(images)) if test(k)][:12] for _, test in cols]
    grid = tile_grid(
        list(map(list, zip(*[r + [None] * (12 - len(r)) for r in rows], strict=True))),
        128,
        [c for c, _ in cols],
    )
    cv2.imwrite(sheet, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f"contact sheet (columns: {', '.join(c for c, _ in cols)}): {sheet}")


#: The clock of every timing: wall time, or this process's CPU time (``--clock cpu``: on a shared
#: machine it leaves out the time other programs hold the core, so ms per image stay comparable
#: between runs; everything here runs on one thread, so CPU time is the per-core cost).
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def timed(fn, *args):
    t = clock()
    result = fn(*args)
    return clock() - t, result


def redetected_eye_error(crops) -> tuple[float, int]:
    from maskforge.detect import make_detector, select_face, template_points

    det = make_detector("dlib-hog", upsample=0, upsample_fallback=1)
    tpl = template_points(112)
    errs = []
    for faces in det.detect([c.image for c in crops]):
        face, _ = select_face(faces, (112, 112), "center")
        if face is not None:
            errs.append(np.linalg.norm(face.landmarks5[:2] - tpl[:2], axis=1).mean())
    return float(np.mean(errs)), len(crops) - len(errs)


def main() -> None:
    default_lfw = os.environ.get("MASKFORGE_LFW_DIR") or str(ROOT.parent / "shared/faces/lfw-dev")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", default=default_lfw, help="folder of LFW identity folders")
    ap.add_argument("--detectors", default="dlib-hog,mtcnn,dlib-cnn")
    ap.add_argument("--limit-cnn", type=int, default=40, help="images for dlib-cnn (slow on CPU)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each loop (best kept)")
    ap.add_argument("--rwmfd", default=None, help="rwmfd-dev folder: masked faces found")
    ap.add_argument("--sheet", default="/tmp/rwmfd_sheet.png", help="contact sheet (PNG)")
    ap.add_argument("--clock", choices=sorted(CLOCK), default="wall", help="wall or CPU time")
    args = ap.parse_args()
    global clock
    clock = CLOCK[args.clock]

    import dlib
    import torch

    torch.set_num_threads(1)
    from maskforge.detect import AlignedFace, DetectConfig, DetectStage
    from maskforge.models import dlib_model_path

    paths = sorted(Path(args.lfw).glob("*/*.jpg"))
    if not paths:
        raise SystemExit(f"no images under {args.lfw}")
    blobs_all = [p.read_bytes() for p in paths]
    decode_name, decode = decoder()
    print(
        f"lfw-dev: {len(paths)} images from {args.lfw}; decoder: {decode_name}; 1 thread; "
        f"{args.clock} clock; load average {os.getloadavg()[0]:.2f}"
    )
    predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_68")))

    # components, for context (what one core does here, today)
    hog = dlib.get_frontal_face_detector()
    t_dec, decoded = timed(lambda: [decode(b) for b in blobs_all])
    t_hog, rects = timed(lambda: [hog.run(im, 0, 0.0)[0] for im in decoded])
    pairs = [(im, r[0]) for im, r in zip(decoded, rects, strict=True) if r]
    t_lm, _ = timed(lambda: [predictor(im, r) for im, r in pairs])
    n_all = len(blobs_all)
    print(
        f"components: decode {1e3 * t_dec / n_all:.2f} ms, HOG upsample 0 {1e3 * t_hog / n_all:.2f} ms "
        f"(finds {len(pairs)}/{n_all}), 68 points {1e3 * t_lm / max(1, len(pairs)):.2f} ms per image"
    )

    rows = []
    for item in filter(None, args.detectors.split(",")):
        spec, _, runtime = item.partition("@")
        name, _, marks = spec.partition(":")
        blobs = blobs_all[: args.limit_cnn] if name == "dlib-cnn" else blobs_all
        stage = DetectStage(DetectConfig(detector=name, device="cpu", landmarks=marks or "dlib68",
                                         runtime=runtime or "auto"))  # fmt: skip
        stage([decode(blobs[0])])  # load models, warm up
        used = stage.model_record().get("runtime_used", "-")
        if name.startswith("blazeface") and marks == "mesh":
            bare = (bare_blazeface, stage.detector, stage.mesh)
        elif name == "dlib-hog":
            bare = (bare_hog, dlib.get_frontal_face_detector(), predictor)
        elif name == "dlib-cnn":
            det = dlib.cnn_face_detection_model_v1(str(dlib_model_path("mmod_detector")))
            bare = (bare_cnn, det, predictor)
        else:
            bare = (bare_mtcnn, stage.detector._mtcnn, predictor)
        bare[0](blobs[:1], decode, *bare[1:])
        repeat = args.repeat if name in ("dlib-hog", "blazeface") else 1
        # Interleave per chunk of 32 images (bare, stage, then stage, bare, ...) and keep each
        # chunk's best time over the repeats: both loops see the same machine load.
        chunks = [blobs[i : i + BATCH] for i in range(0, len(blobs), BATCH)]
        best_bare = [float("inf")] * len(chunks)
        best_stage = [float("inf")] * len(chunks)
        out, bare_found = [], 0
        for r in range(repeat):
            for c, chunk in enumerate(chunks):
                for which in ("bare", "stage") if (r + c) % 2 == 0 else ("stage", "bare"):
                    if which == "bare":
                        t, found = timed(bare[0], chunk, decode, *bare[1:])
                        best_bare[c] = min(best_bare[c], t)
                        bare_found += found if r == 0 else 0
                    else:
                        t, res = timed(stage_run, stage, chunk, decode)
                        best_stage[c] = min(best_stage[c], t)
                        out.extend(res if r == 0 else [])
        t_bare, t_stage = [sum(best_bare)], [sum(best_stage)]
        n = len(blobs)
        ok = [o for o in out if isinstance(o, AlignedFace)]
        tb, ts = min(t_bare), min(t_stage)
        row = {
            "detector": item,
            "runtime": used,
            "images": n,
            "stage_ips": n / ts,
            "bare_ips": n / tb,
            "ratio": ts / tb,
            "found": len(ok),
            "bare_found": bare_found,
        }
        print(
            f"{item:14s} ({used}) n={n:4d}  stage {n / ts:7.1f} img/s ({1e3 * ts / n:6.2f} ms)  "
            f"bare {n / tb:7.1f} img/s ({1e3 * tb / n:6.2f} ms)  ratio stage/bare {ts / tb:5.3f}  "
            f"detected {len(ok)}/{n} = {100 * len(ok) / n:.2f}% (bare {bare_found})",
            flush=True,
        )
        if name == "dlib-hog" or marks == "mesh":
            err, missed = redetected_eye_error(ok)
            row["eye_error_px"] = err
            print(
                f"          alignment: re-detected eye-centre error on 112 crops {err:.2f} px "
                f"(mean; {missed} crops not re-detected)"
            )
        rows.append(row)
    print("summary:", rows)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    by = {r["detector"]: r for r in rows}
    for item, row in by.items():
        if "dlib-hog" in by and item.startswith("blazeface:mesh"):
            print(
                f"{item} ({row['runtime']}) vs dlib-hog (68 points), same run: stage x"
                f"{row['stage_ips'] / by['dlib-hog']['stage_ips']:.2f} images/s, "
                f"bare x{row['bare_ips'] / by['dlib-hog']['bare_ips']:.2f}"
            )
    for item, row in by.items():
        torch_row = by.get(item.replace("@litert", "@torch"))
        if item.endswith("@litert") and torch_row is not None:
            print(
                f"{item} vs {torch_row['detector']}, same run: stage x"
                f"{row['stage_ips'] / torch_row['stage_ips']:.2f} images/s, "
                f"bare x{row['bare_ips'] / torch_row['bare_ips']:.2f}"
            )
    if args.rwmfd:
        rwmfd_counts(args.rwmfd, args.sheet)


if __name__ == "__main__":
    main()
