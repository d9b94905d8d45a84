"""``maskforge assets extract``: cut a mask asset out of a photo of a person wearing one.

Steps, per photo (RGB, any size):

1. **find the face**: MTCNN (it finds masked faces; centre-weighted selection, box side >= 40
   px) gives the two eye centres; the upper face is all that is trusted;
2. **unwarp**: the similarity that sends the eye centres to the canonical face's
   (:data:`.anchors.CANONICAL_68`) resamples the photo into the drawn masks' template frame
   (:data:`.draw.MASK_IOD` px per inter-ocular distance, eye midpoint at
   :data:`.draw.MASK_ORIGIN`): the canonical mask frame;
3. **segment** the mask there with a graph cut (OpenCV GrabCut, colour models + edges): surely
   mask = the mouth and chin core (x in [-0.4, 0.4], y in [0.95, 1.35] IOD); maybe mask = the
   canonical jaw outline grown by 0.2 IOD, below y = 0.1; maybe not = up to 0.45 IOD beyond the
   jaw; surely not = the eyes and cheekbones (y < 0.12 + 0.3 x^2) and everything further out. The visible skin
   (forehead, between the eyes) is also sure background, so skin does not pass for mask;
4. **matte**: the piece that holds the core, holes filled, edges feathered (Gaussian, 1.2 px at
   template scale);
5. **fit**: the RGBA cut-out goes through :func:`.importer.prepare_import` (the same outline
   fit, anchors and triangulation as ``assets import``).

When no plausible mask region is found (no face; more of the core than :data:`MAX_SKIN` has the colour of the
visible skin of the forehead and nose bridge (over 15%); or the cut covers under 60% of the core or is
narrower than 1.1 IOD), :class:`~maskforge.errors.AssetError` says what was found.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import AssetError
from .anchors import CANONICAL_68
from .canvas import MASK_IOD, MASK_ORIGIN, MASK_SIZE
from .importer import Imported, check_output, prepare_import, write_prepared

#: Smallest share of the mouth/chin core the segmented mask must cover.
MIN_CORE = 0.6
#: Narrowest plausible mask, in IOD.
MIN_WIDTH = 1.1
#: Largest share of the core whose colour matches the visible skin (forehead, nose bridge).
MAX_SKIN = 0.15
#: Highest a mask's top edge may be (eye-frame y at the nose bridge, rising TOP_CURVE x^2 less
#: towards the cheeks): above it are the eyes and cheekbones, never mask.
TOP_Y, TOP_CURVE = 0.12, 0.3
#: Feather of the matte (template px).
FEATHER = 1.2


def find_eyes(image: np.ndarray, detector=None) -> tuple[np.ndarray, str]:  # noqa: ANN001
    """(2, 2) eye centres (image-left, image-right) of the selected face and what was found;
    AssetError when there is no face."""
    from ..detect import make_detector, select_face

    det = detector or make_detector("mtcnn", device="cpu", min_face_size=40)
    faces = det.detect([image])[0]
    face, reason = select_face(faces, image.shape[:2], min_size=40)
    if face is None:
        raise AssetError(
            f"no face found ({reason}, {len(faces)} detection(s)): use a photo where one face "
            "is at least 40 px wide"
        )
    return np.asarray(face.landmarks5[:2], np.float64), f"{len(faces)} face(s) found"


def canonical_warp(eyes: np.ndarray) -> np.ndarray:
    """2x3 affine (similarity) from photo px to the canonical mask frame."""
    src = np.asarray(eyes, np.float64)
    can = np.array([CANONICAL_68[36:42].mean(0), CANONICAL_68[42:48].mean(0)])
    dst = can * MASK_IOD + np.asarray(MASK_ORIGIN)
    s_vec, d_vec = src[1] - src[0], dst[1] - dst[0]
    scale = math.hypot(*d_vec) / max(math.hypot(*s_vec), 1e-6)
    ang = math.atan2(d_vec[1], d_vec[0]) - math.atan2(s_vec[1], s_vec[0])
    c, s = scale * math.cos(ang), scale * math.sin(ang)
    rot = np.array([[c, -s], [s, c]])
    t = dst[0] - rot @ src[0]
    return np.hstack([rot, t[:, None]])


def _eye_grid() -> tuple[np.ndarray, np.ndarray]:
    w, h = MASK_SIZE
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return (xs - MASK_ORIGIN[0]) / MASK_IOD, (ys - MASK_ORIGIN[1]) / MASK_IOD


def _jaw_region(grow: float) -> np.ndarray:
    """(H, W) bool: the canonical jaw (landmarks 0-16, closed across the top) grown by ``grow``
    IOD, in the canonical mask frame."""
    pts = CANONICAL_68[0:17] * MASK_IOD + np.asarray(MASK_ORIGIN)
    out: np.ndarray = np.zeros((MASK_SIZE[1], MASK_SIZE[0]), np.uint8)
    cv2.fillPoly(out, [np.round(pts).astype(np.int32)], 1)
    if grow > 0:
        k = int(round(2 * grow * MASK_IOD)) | 1
        out = np.asarray(cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))))
    return out.astype(bool)


def skin_share(canon: np.ndarray) -> float:
    """Share of the mouth/chin core whose colour matches the visible skin of the forehead and
    nose bridge (CIE Lab: chroma within 3 standard deviations, lightness within 25%)."""
    x, y = _eye_grid()
    ax = np.abs(x)
    valid = canon.any(axis=2)
    ref = valid & (((ax < 0.45) & (y > -0.7) & (y < -0.35)) | ((ax < 0.1) & (y > -0.15) & (y < 0.1)))
    core = valid & (ax < 0.4) & (y > 0.95) & (y < 1.35)
    if ref.sum() < 50 or core.sum() < 50:
        return 0.0
    lab = cv2.cvtColor(canon, cv2.COLOR_RGB2LAB).astype(np.float32)
    skin = lab[ref]
    mu, cov = skin[:, 1:].mean(0), np.cov(skin[:, 1:], rowvar=False) + np.eye(2) * 4.0
    d = lab[core][:, 1:] - mu
    d2 = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
    light = np.abs(lab[core][:, 0] - skin[:, 0].mean()) < 0.25 * max(float(skin[:, 0].mean()), 1.0)
    return float(((d2 < 9.0) & light).mean())


def segment(canon: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(H, W) float32 alpha of the mask in the canonical frame ``canon`` (RGB uint8, black
    outside the photo), the share of the core it covers, and its width in IOD."""
    x, y = _eye_grid()
    ax = np.abs(x)
    valid = canon.any(axis=2)
    core = (ax < 0.4) & (y > 0.95) & (y < 1.35)
    m = np.full(x.shape, cv2.GC_BGD, np.uint8)
    m[_jaw_region(0.45)] = cv2.GC_PR_BGD
    m[_jaw_region(0.2) & (y > 0.1)] = cv2.GC_PR_FGD
    m[(y < TOP_Y + TOP_CURVE * x * x) | ~valid] = cv2.GC_BGD  # above a worn mask's top edge
    m[core & valid] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    small = cv2.resize(canon, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    ms = np.asarray(cv2.resize(m, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST))
    cv2.setRNGSeed(0)
    img_bgr = np.ascontiguousarray(small[..., ::-1])
    cv2.grabCut(img_bgr, ms, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]
    fg = ((ms == cv2.GC_FGD) | (ms == cv2.GC_PR_FGD)).astype(np.uint8)
    fg = cv2.resize(fg, MASK_SIZE, interpolation=cv2.INTER_NEAREST)
    n, labels = cv2.connectedComponents(fg, connectivity=8)
    keep = np.unique(labels[core & (fg > 0)])
    piece: np.ndarray = np.isin(labels, keep[keep > 0]).astype(np.uint8)
    filled = piece.copy()
    flood = np.zeros((piece.shape[0] + 2, piece.shape[1] + 2), np.uint8)
    cv2.floodFill(filled, flood, (0, 0), 1)
    piece |= 1 - filled  # holes (e.g. a printed logo) belong to the mask
    piece = np.asarray(cv2.morphologyEx(piece, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)))
    cover = float(piece[core].mean()) if core.any() else 0.0
    cols = np.nonzero(piece.any(axis=0))[0]
    width = float(cols[-1] - cols[0]) / MASK_IOD if len(cols) else 0.0
    alpha = cv2.GaussianBlur(piece.astype(np.float32), (0, 0), FEATHER)
    return alpha, cover, width


def extract_rgba(image: np.ndarray, detector=None) -> tuple[np.ndarray, str]:  # noqa: ANN001
    """The mask of ``image`` (RGB uint8) as straight-alpha RGBA uint8 in the canonical mask
    frame, and a description; AssetError (what was found) when there is none."""
    eyes, found = find_eyes(image, detector)
    iod = float(np.hypot(*(eyes[1] - eyes[0])))
    canon = cv2.warpAffine(image, canonical_warp(eyes), MASK_SIZE, flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))  # fmt: skip
    skin = skin_share(canon)
    if skin > MAX_SKIN:
        raise AssetError(
            f"no mask region could be segmented: {found}, eyes {iod:.0f} px apart, but "
            f"{skin:.0%} of the mouth and chin have the colour of the visible skin (forehead, "
            "nose bridge): the face does not seem to wear a mask; use a photo of a masked face"
        )
    alpha, cover, width = segment(canon)
    if cover < MIN_CORE or width < MIN_WIDTH:
        raise AssetError(
            f"no mask region could be segmented: {found}, eyes {iod:.0f} px apart; the region "
            f"that differs from the visible skin covers {cover:.0%} of the mouth and chin and is "
            f"{width:.2f} IOD wide (a worn mask covers >= {MIN_CORE:.0%} and is >= {MIN_WIDTH} IOD "
            "wide): use a photo of a face wearing a mask, seen from the front"
        )
    rgba = np.dstack([canon, np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)])
    rgba[rgba[..., 3] == 0, :3] = 0
    return rgba, f"{found}, eyes {iod:.0f} px apart, mask covers {cover:.0%} of the core"


def prepare_extract(photo: str | Path, name: str | None = None, detector=None) -> Imported:  # noqa: ANN001
    """Extract the mask of one photo and build its asset files in memory (see module doc)."""
    from ..io.decode import decode_image

    photo = Path(photo)
    try:
        image = decode_image(photo)
    except Exception as exc:  # noqa: BLE001  (any decode failure is the user's file)
        raise AssetError(f"{photo} cannot be read as an image: {exc}") from exc
    try:
        rgba, found = extract_rgba(image, detector)
    except AssetError as exc:
        raise AssetError(f"{photo}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="maskforge-extract-") as tmp:
        png = Path(tmp) / "cut.png"
        Image.fromarray(rgba, "RGBA").save(png)
        try:
            imp = prepare_import(png, "mask", name=name or f"photo-{photo.stem}")
        except AssetError as exc:
            msg = str(exc).replace(f"{png}: ", "")
            raise AssetError(f"{photo}: the segmented mask cannot be fitted ({found}): {msg}") from None
    meta_name = f"{imp.name}.json"
    meta = json.loads(imp.files[meta_name])
    meta["license"] = "unknown: that of the source photo"
    meta["provenance"] = (
        f"extracted with `maskforge assets extract` from {photo.name} (sha256 "
        f"{hashlib.sha256(photo.read_bytes()).hexdigest()[:16]}); {found}"
    )
    files = {**imp.files, meta_name: (json.dumps(meta, indent=1) + "\n").encode()}
    return Imported(imp.name, files, f"{found}; {imp.summary}")


def extract_assets(
    photos: Sequence[str | Path], output: str | Path, name: str | None = None
) -> tuple[list[tuple[Imported, list[Path]]], list[str]]:
    """Extract the mask of every photo (:func:`prepare_extract`) into the folder ``output``
    (``photo-STEM`` per photo, or ``name`` for a single one). Photos without a usable mask are
    left out, each with its message; when none is usable, AssetError with those messages. Every
    destination is checked before the first write. Returns ((asset, files written) per photo,
    messages of the photos left out)."""
    from ..detect import make_detector

    if name is not None and len(photos) > 1:
        raise AssetError(f"--name names one asset; {len(photos)} photos given: extract them one by one")
    check_output(photos, output)
    det = make_detector("mtcnn", device="cpu", min_face_size=40)
    done, refused = [], []
    for p in photos:
        try:
            done.append((p, prepare_extract(p, name, det)))
        except AssetError as exc:
            refused.append(str(exc))
    if not done:
        raise AssetError("; ".join(refused))
    written = write_prepared([p for p, _ in done], [imp for _, imp in done], output)
    return written, refused
