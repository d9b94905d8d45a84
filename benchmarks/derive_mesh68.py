"""Derive (and validate) the 468 -> 68 index mapping of ``maskforge.detect.mesh68`` on lfw-dev.

    python benchmarks/derive_mesh68.py [--lfw DIR] [--cache /tmp/mesh68.npz]

For every lfw-dev image where dlib-hog finds a face and BlazeFace + Face Mesh find one too, it keeps
dlib's 68 points and the mesh's 468 (source pixels). Identities are split in two by their sorted
position: the even half *derives* the mapping, the odd half *validates* it. For each dlib point
the mapping is a mesh point, or a point on the line through two of the 12 nearest mesh points
(a midpoint, or beyond one of them), with the smallest mean distance to it on the derivation half. Distances are normalised by dlib's outer
eye-corner distance (points 36-45, the 300-W convention). It prints the mapping (to paste into
``mesh68.py``), then the normalised mean error per region on the validation half, for the mapping
found here and for the one in ``mesh68.py`` (without and with its jaw correction for mask
placement, ``CHIN_DROP`` and ``JAW_INSET``, calibrated by ``bench_mesh_placement.py``), and the
ROI scale ``HOG_TO_ROI`` of ``facemesh.py``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STEPS = (-1.0, -0.5, 0.5)
REGIONS = {
    "jaw": range(0, 17),
    "brows": range(17, 27),
    "nose": range(27, 36),
    "eyes": range(36, 48),
    "mouth": range(48, 68),
}


def collect(lfw: str) -> dict[str, np.ndarray]:
    """dlib 68, mesh 468x3, identity index, ROI side ratio for every image both detectors find."""
    import torch

    from maskforge.detect import make_detector, select_face
    from maskforge.detect.blazeface import BlazeFaceDetector
    from maskforge.detect.facemesh import FaceMesh, face_roi
    from maskforge.detect.landmarks import box_from_landmarks5
    from maskforge.io.decode import decode_image

    torch.set_num_threads(1)
    paths = sorted(Path(lfw).glob("*/*.jpg"))
    ids = sorted({p.parent.name for p in paths})
    hog, blaze, mesh = make_detector("dlib-hog"), BlazeFaceDetector(device="cpu"), FaceMesh("cpu")
    rows: dict[str, list] = {"lm68": [], "mesh": [], "ident": [], "roi_ratio": []}
    for start in range(0, len(paths), 64):
        chunk = paths[start : start + 64]
        images = [decode_image(p) for p in chunk]
        pairs = []
        for p, im, fd, fb in zip(
            chunk, images, hog.detect(images), blaze.detect(images), strict=True
        ):
            a, _ = select_face(fd, im.shape, "center-weighted")
            b, _ = select_face(fb, im.shape, "center-weighted")
            if a is not None and b is not None:
                pairs.append((p, im, a, b))
        meshes, _ = mesh([q[1] for q in pairs], [q[3] for q in pairs])
        for (p, _, a, b), m in zip(pairs, meshes, strict=True):
            rows["lm68"].append(a.landmarks68)
            rows["mesh"].append(m)
            rows["ident"].append(ids.index(p.parent.name))
            hog_side = float(np.ptp(box_from_landmarks5(a.landmarks5)[[0, 2]]))
            rows["roi_ratio"].append(face_roi(b)[1] / hog_side)
    return {k: np.asarray(v) for k, v in rows.items()}


def derive(lm68: np.ndarray, mesh: np.ndarray, norm: np.ndarray) -> list[tuple[int, int, float]]:
    """Per dlib point, ``(a, b, t)``: the point ``mesh[a] + t * (mesh[b] - mesh[a])`` with the
    least mean normalised error; ``a`` and ``b`` among the 12 nearest mesh points, ``t`` in
    :data:`STEPS` (0: the point ``a`` itself, 0.5: a midpoint, < 0: beyond ``a``, away from
    ``b``, which reaches dlib's silhouette jaw from the mesh's skin points)."""
    xy = mesh[:, :, :2]
    mapping = []
    for j in range(68):
        err = (np.linalg.norm(xy - lm68[:, j : j + 1], axis=2) / norm[:, None]).mean(0)
        near = np.argsort(err)[:12]
        best: tuple[float, tuple[int, int, float]] = (
            float(err[near[0]]),
            (int(near[0]),) * 2 + (0.0,),
        )
        for a in near:
            for b in near:
                for t in STEPS if a != b else ():
                    p = xy[:, a] + t * (xy[:, b] - xy[:, a])
                    e = float((np.linalg.norm(p - lm68[:, j], axis=1) / norm).mean())
                    if e < best[0] - 1e-4:  # a clear gain only: keep the simpler entry
                        best = (e, (int(a), int(b), float(t)))
        mapping.append(best[1])
    return mapping


def region_nme(lm68: np.ndarray, mapped: np.ndarray, norm: np.ndarray) -> dict[str, float]:
    err = np.linalg.norm(mapped - lm68, axis=2) / norm[:, None]
    out = {name: float(err[:, list(idx)].mean()) for name, idx in REGIONS.items()}
    out["all"] = float(err.mean())
    return out


def main() -> None:
    default = os.environ.get("MASKFORGE_LFW_DIR") or str(ROOT.parent / "shared/faces/lfw-dev")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lfw", default=default)
    ap.add_argument("--cache", default=None, help="npz to reuse the collected points")
    args = ap.parse_args()
    if args.cache and Path(args.cache).is_file():
        data = dict(np.load(args.cache))
    else:
        data = collect(args.lfw)
        if args.cache:
            np.savez(args.cache, **data)
    from maskforge.detect.mesh68 import CHIN_DROP, JAW_INSET, MESH68, mesh_to_68

    lm68, mesh, ident = data["lm68"], data["mesh"], data["ident"]
    norm = np.linalg.norm(lm68[:, 36] - lm68[:, 45], axis=1)
    train, test = ident % 2 == 0, ident % 2 == 1
    print(f"{len(lm68)} faces found by both ({train.sum()} derive, {test.sum()} validate)")
    print(f"HOG_TO_ROI: median {np.median(data['roi_ratio']):.3f}")
    mapping = derive(lm68[train], mesh[train], norm[train])
    print("derived mapping:", mapping)
    a, b, t = (np.array(v) for v in zip(*mapping, strict=True))
    xy = mesh[test][:, :, :2]
    derived = xy[:, a] + t[None, :, None] * (xy[:, b] - xy[:, a])
    print("validation NME, derived here:", region_nme(lm68[test], derived, norm[test]))
    plain = np.stack([mesh_to_68(m, 0.0, 0.0) for m in mesh[test]])
    print(
        f"validation NME, mesh68.MESH68 ({len(MESH68)} entries), no jaw correction:",
        region_nme(lm68[test], plain, norm[test]),
    )
    current = np.stack([mesh_to_68(m) for m in mesh[test]])
    print(
        f"validation NME, mesh68.mesh_to_68 (CHIN_DROP {CHIN_DROP}, JAW_INSET {JAW_INSET}):",
        region_nme(lm68[test], current, norm[test]),
    )
    from maskforge.detect.mesh68 import PITCH_OFFSET, pose_from_mesh
    from maskforge.detect.pose import estimate_pose

    pm = np.array([pose_from_mesh(m) for m in mesh])
    pd = np.array([estimate_pose(p, (250, 250)) for p in lm68])
    for k, name in enumerate(("yaw", "pitch", "roll")):
        print(
            f"pose {name}: mesh - dlib mean {np.mean(pm[:, k] - pd[:, k]):+.2f} deg, mean abs "
            f"{np.mean(np.abs(pm[:, k] - pd[:, k])):.2f} deg, corr {np.corrcoef(pm[:, k], pd[:, k])[0, 1]:.3f}"
            + (f" (PITCH_OFFSET {PITCH_OFFSET})" if name == "pitch" else "")
        )
    for label, jaw in (("no jaw correction", (0.0, 0.0)), ("with the jaw correction", ())):
        print(
            f"all faces NME, {label}:",
            region_nme(lm68, np.stack([mesh_to_68(m, *jaw) for m in mesh]), norm),
        )


if __name__ == "__main__":
    main()
