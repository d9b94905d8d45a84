"""Contact sheets: occluders rendered on a few faces in one image (previews and docs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..grid import tile_grid
from ..seeding import SHEET, rng_for
from .anchors import canonical_landmarks, yaw_from_landmarks
from .assets import AssetLibrary
from .render import render_occluder
from .spec import OccluderSpec

Face = tuple[np.ndarray, np.ndarray]  # (image RGB uint8, landmarks68 in its frame)


def schematic_face(size: int = 256) -> Face:
    """A drawn stand-in face (skin-toned disc, features as lines) with its canonical landmarks,
    for previews when no real face is at hand."""
    lm = canonical_landmarks(size * 0.3, (size / 2, size * 0.4))
    img = np.full((size, size, 3), 200, np.uint8)
    outline = np.vstack([lm[0:17], lm[26:16:-1] + (0, -size * 0.12)])
    cv2.fillPoly(img, [np.round(outline).astype(np.int32)], (224, 180, 150), cv2.LINE_AA)
    for part in (range(17, 22), range(22, 27), range(27, 31), range(31, 36)):
        cv2.polylines(
            img, [np.round(lm[list(part)]).astype(np.int32)], False, (120, 80, 60), 2, cv2.LINE_AA
        )
    for part in (range(36, 42), range(42, 48), range(48, 60)):
        cv2.polylines(
            img, [np.round(lm[list(part)]).astype(np.int32)], True, (120, 60, 60), 2, cv2.LINE_AA
        )
    return img, lm.astype(np.float32)


def detect_faces(paths: Sequence[Path], detector: str = "dlib-hog") -> list[Face]:
    """Decode images and find the selected face's 68 landmarks (images without one are left
    out)."""
    from ..detect import make_detector, select_face
    from ..io.decode import decode_image

    det = make_detector(detector)
    out: list[Face] = []
    for p in paths:
        img = decode_image(p)
        face, _ = select_face(det.detect([img])[0], img.shape[:2])
        if face is not None and face.landmarks68 is not None:
            out.append((img, np.asarray(face.landmarks68, np.float32)))
    return out


def pick_diverse(faces: Sequence[Face], n: int = 6) -> list[Face]:
    """Up to ``n`` faces: the most turned each way, the two most open mouths, then frontal ones."""
    if len(faces) <= n:
        return list(faces)
    yaw = np.array([yaw_from_landmarks(lm) for _, lm in faces])
    iod = np.array([np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0)) for _, lm in faces])
    mouth = np.array([np.linalg.norm(lm[66] - lm[62]) for _, lm in faces]) / iod
    order: list[int] = [int(np.argmin(yaw)), int(np.argmax(yaw))]
    order += [int(i) for i in np.argsort(-mouth) if int(i) not in order][:2]
    order += [int(i) for i in np.argsort(np.abs(yaw)) if int(i) not in order][: n - len(order)]
    return [faces[i] for i in order[:n]]


def _crop(img: np.ndarray, lm: np.ndarray, tile: int) -> np.ndarray:
    half = max(np.ptp(lm[:, 0]), np.ptp(lm[:, 1])) * 0.8
    c = (lm[0:17].mean(0) + lm[27:36].mean(0)) / 2 + (0.0, 0.12 * half)
    m = np.array(
        [
            [tile / (2 * half), 0, tile / 2 - c[0] * tile / (2 * half)],
            [0, tile / (2 * half), tile / 2 - c[1] * tile / (2 * half)],
        ]
    )
    return cv2.warpAffine(
        img,
        m,
        (tile, tile),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )


def aligned_crop(img: np.ndarray, lm: np.ndarray, size: int) -> Face:
    """The face ArcFace-aligned to ``size`` px (the frame training crops use) and its
    landmarks in that frame."""
    from ..detect.align import align_face, apply_transform

    five = np.array([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])
    crop, m = align_face(img, five, size=size, template="arcface")
    return crop, apply_transform(m, lm)


def contact_sheet(
    faces: Sequence[Face],
    specs: Sequence[OccluderSpec | str],
    library: AssetLibrary | None = None,
    seed: int = 0,
    tile: int = 144,
    original: bool = True,
    aligned: bool = False,
) -> np.ndarray:
    """One row per face, one column per spec (plus the original first): (H, W, 3) uint8 RGB.
    Each tile is a crop of the full rendered image around the face, so nothing is hidden; with
    ``aligned`` the face is first aligned to a ``tile`` px ArcFace crop and the occluder is
    rendered on that crop, at the resolution a model trained on such crops sees."""
    parsed = [s if isinstance(s, OccluderSpec) else OccluderSpec.parse(s) for s in specs]
    header = (["original"] if original else []) + [s.label() for s in parsed]
    rows = []
    for r, (img, lm) in enumerate(faces):
        if aligned:
            img, lm = aligned_crop(img, lm, tile)
        show = (lambda im: im) if aligned else (lambda im, lm=lm: _crop(im, lm, tile))
        tiles = [show(img)] if original else []
        for c, spec in enumerate(parsed):
            res = render_occluder(img, lm, spec, rng_for(seed, SHEET, r, c), library=library)
            tiles.append(show(res.image))
        rows.append(tiles)
    return tile_grid(rows, tile, labels=header)


def every_variant_specs(library: AssetLibrary) -> list[OccluderSpec]:
    """One spec per asset family and wear variant in ``library`` (default colours)."""
    specs = []
    for fam in library.names():
        wears = library.wears(fam) if library.get(fam).kind == "mask" else ["correct"]
        specs += [OccluderSpec(fam, wear=w) for w in wears]
    return specs


def save_rgb_png(path: str | Path, image: np.ndarray, palette: bool = False) -> None:
    """Write an RGB array as PNG; ``palette``: quantised to 256 colours (about a third of the
    size, for documentation)."""
    from PIL import Image

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(image)
    if palette:
        im = im.quantize(256, method=Image.Quantize.MEDIANCUT)  # no dithering: small files
    im.save(path, format="PNG", optimize=True)
