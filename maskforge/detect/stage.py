"""``DetectStage``: decoded images in, aligned faces (or rejects) out.

A plain callable over a batch, usable from Ray or plain Python. Models are loaded on the first call
and kept for the life of the instance; pickling an instance (e.g. to a Ray worker) carries only its
config, and the worker loads its own models once.

Per image: detect (unless the input is already aligned, ``aligned = "arcface-112"``: see
:mod:`.aligned`, or geometry hints are given), select one face, get 68 points on the source
image (``landmarks = "dlib68"``: reused from the dlib detectors, else predicted on a HOG-like box;
``landmarks = "mesh"``: Face Mesh, batched over the call's faces, with the 68 and the 5 derived from
its 468 points), align (or crop), then map box and points to the output frame with the stored
source -> output matrix. Head pose is estimated from the source-frame 68 points (dlib68) or fitted to
the mesh's 3D points (mesh).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from ..onnxrt import is_onnx
from .align import align_face, apply_transform, crop_box, outside_fraction, transform_box
from .aligned import aligned_geometry, is_aligned
from .config import DetectConfig
from .facemesh import FaceMesh
from .faces import AlignedFace, DetectReject, Face
from .factory import Detector, make_detector
from .landmarks import Landmarker68, box_from_landmarks5, landmarks5_from_68
from .mesh68 import landmarks5_from_mesh, mesh_to_68, pose_from_mesh
from .pose import estimate_pose
from .selection import select_face

HINT_KEYS = ("bbox", "landmarks5", "landmarks68")


def as_rgb(image: Any) -> np.ndarray | DetectReject:
    """The image as C-contiguous ``(H, W, 3)`` uint8, or a ``bad_image`` reject.

    Gray ``(H, W)`` / ``(H, W, 1)`` is repeated to 3 channels and RGBA loses its alpha; other
    dtypes and shapes are rejected (decoding belongs to ``maskforge.io.decode``).
    """
    if not isinstance(image, np.ndarray):
        return DetectReject("bad_image", f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        return DetectReject("bad_image", f"expected uint8 pixels, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim != 3 or image.shape[2] != 3:
        return DetectReject("bad_image", f"expected (H, W, 3) pixels, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        return DetectReject("bad_image", f"empty image of shape {image.shape}")
    return np.ascontiguousarray(image)


def _points(value: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.size != n * 2:
        raise ValueError(f"hint {name} must hold {n} (x, y) points, got shape {arr.shape}")
    arr = arr.reshape(n, 2)
    if not np.isfinite(arr).all():
        raise ValueError(f"hint {name} has non-finite values")
    return arr


class DetectStage:
    """The detect stage. ``DetectStage(config)(images, hints=None)``.

    Args:
        config: a :class:`DetectConfig`, a plain dict of its fields, or ``None`` (defaults).

    Call args:
        images: decoded ``(H, W, 3)`` uint8 RGB images (gray / RGBA are converted, anything else
            becomes a ``bad_image`` reject).
        hints: ``None`` or one entry per image: ``None`` or a dict with any of ``bbox`` (4,),
            ``landmarks5`` (5, 2), ``landmarks68`` (68, 2), source pixels. Images with a hint skip
            detection ("bring your own geometry"); their ``det_score`` is 1.0.

    Returns:
        One :class:`AlignedFace` or :class:`DetectReject` per image, in order.
    """

    def __init__(self, config: DetectConfig | Mapping[str, Any] | None = None) -> None:
        if config is None:
            config = DetectConfig()
        elif not isinstance(config, DetectConfig):
            config = DetectConfig.from_dict(config)
        self.config = config
        self._landmarker: Landmarker68 | None = None
        self._detector: Detector | None = None
        self._mesh: FaceMesh | None = None

    # -- model loading (once per instance) ---------------------------------------------------
    @property
    def landmarker(self) -> Landmarker68:
        if self._landmarker is None:
            self._landmarker = Landmarker68()
        return self._landmarker

    @property
    def mesh(self) -> FaceMesh:
        if self._mesh is None:
            c = self.config
            self._mesh = FaceMesh(device=c.device, batch_size=c.batch_size, runtime=c.runtime)
        return self._mesh

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            c = self.config
            if is_onnx(c.detector):
                self._detector = make_detector(
                    c.detector,
                    landmarker=self.landmarker,
                    device=c.device,
                    input_size=c.input_size,
                    threshold=c.det_threshold,
                    nms_iou=c.nms_iou,
                )
            elif c.detector.startswith("blazeface"):
                self._detector = make_detector(
                    c.detector, device=c.device, batch_size=c.batch_size, runtime=c.runtime
                )
            elif c.detector == "mtcnn":
                self._detector = make_detector(
                    "mtcnn",
                    device=c.device,
                    min_face_size=c.min_face_size,
                    thresholds=c.thresholds,
                    batch_size=c.batch_size,
                )
            else:
                self._detector = make_detector(
                    c.detector,
                    landmarker=self.landmarker,
                    upsample=c.upsample,
                    upsample_fallback=c.upsample_fallback,
                )
        return self._detector

    def model_record(self) -> dict[str, Any]:
        """What the manifest records of the detect models (:meth:`DetectConfig.model_record`),
        with ``runtime_used``: what ran the MediaPipe models in this process, ``torch`` or
        ``litert`` (only when one was loaded)."""
        record = self.config.model_record()
        loaded = [m for m in (self._detector, self._mesh) if hasattr(m, "runtime")]
        if loaded:
            record["runtime_used"] = getattr(loaded[0], "runtime")  # noqa: B009
        return record

    def load_models(self) -> None:
        """Load the models this config uses now (the landmark model alone for aligned input)."""
        if is_aligned(self.config.aligned):
            _ = self.landmarker
        else:
            _ = self.detector

    def __getstate__(self) -> dict:
        return {"config": self.config}

    def __setstate__(self, state: dict) -> None:
        DetectStage.__init__(self, state["config"])

    # -- the call ---------------------------------------------------------------------------------
    def __call__(
        self,
        images: Sequence[np.ndarray],
        hints: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[AlignedFace | DetectReject]:
        n = len(images)
        if hints is not None and len(hints) != n:
            raise ValueError(f"got {len(hints)} hints for {n} images")
        prepared = [as_rgb(im) for im in images]
        done: dict[int, AlignedFace | DetectReject] = {}
        to_detect: dict[int, np.ndarray] = {}
        for i, img in enumerate(prepared):
            if isinstance(img, DetectReject):
                done[i] = img
                continue
            hint = hints[i] if hints is not None else None
            if is_aligned(self.config.aligned):
                done[i] = self._from_aligned(img)
            elif hint and any(hint.get(k) is not None for k in HINT_KEYS):
                done[i] = self._from_hint(img, hint)
            else:
                to_detect[i] = img
        if to_detect:
            results = self._detect_all(list(to_detect.values()))
            for i, res in zip(to_detect, results, strict=True):
                done[i] = res
        return [done[i] for i in range(n)]

    def _from_aligned(self, image: np.ndarray) -> AlignedFace | DetectReject:
        geometry = aligned_geometry(image, self.config.aligned, self.landmarker)
        if isinstance(geometry, DetectReject):
            return geometry
        box, lm5, lm68 = geometry
        return self._finish(image, Face(box, 1.0, lm5, lm68))

    def _detect_all(self, images: list[np.ndarray]) -> list[AlignedFace | DetectReject]:
        """Detect, select one face per image, add the landmarks of all selected faces at once
        (the mesh runs batched), then align each."""
        c = self.config
        out: list[AlignedFace | DetectReject] = []
        picked: list[tuple[int, Face]] = []
        for k, (image, faces) in enumerate(zip(images, self.detector.detect(images), strict=True)):
            face, reason = select_face(
                faces, image.shape, c.select, min_size=c.min_face_size, min_score=c.min_score
            )
            if face is None:
                detail = self._reject_detail(reason, faces, image)
                out.append(DetectReject(reason or "no_face", detail))
            else:
                out.append(DetectReject("no_face", "pending"))  # replaced below
                picked.append((k, face))
        self._add_landmarks([images[k] for k, _ in picked], [f for _, f in picked])
        for k, face in picked:
            out[k] = self._finish(images[k], face)
        return out

    def _add_landmarks(
        self, images: list[np.ndarray], faces: list[Face], keep5: bool = False
    ) -> None:
        """Fill ``landmarks68`` (and, with the mesh, ``mesh`` and ``landmarks5`` unless ``keep5``:
        a hint's own 5 points) of each face in place: Face Mesh batched over all faces, or dlib's
        68 where the detector gave none."""
        if self.config.landmarks == "mesh":
            if faces:
                meshes, _ = self.mesh(images, faces)
                for face, m in zip(faces, meshes, strict=True):
                    face.mesh = m
                    face.landmarks68 = mesh_to_68(m)
                    if not keep5:
                        face.landmarks5 = landmarks5_from_mesh(m)
            return
        for image, face in zip(images, faces, strict=True):
            if face.landmarks68 is None:
                face.landmarks68 = self.landmarker(image, box_from_landmarks5(face.landmarks5))

    def _reject_detail(self, reason: str | None, faces: list[Face], image: np.ndarray) -> str:
        c = self.config
        h, w = image.shape[:2]
        if reason == "low_score":
            best = max(f.score for f in faces)
            return f"{len(faces)} face(s), best score {best:.3f} < min_score {c.min_score}"
        if reason == "face_too_small":
            side = max(min(f.width, f.height) for f in faces)
            return f"{len(faces)} face(s), largest side {side:.0f} px < min_face_size {c.min_face_size}"
        return f"{c.detector} found no face in a {w}x{h} image"

    def _from_hint(self, image: np.ndarray, hint: Mapping[str, Any]) -> AlignedFace | DetectReject:
        try:
            lm68 = hint.get("landmarks68")
            lm5 = hint.get("landmarks5")
            box = hint.get("bbox")
            lm68 = _points(lm68, 68, "landmarks68") if lm68 is not None else None
            lm5 = _points(lm5, 5, "landmarks5") if lm5 is not None else None
            if box is not None:
                box = np.asarray(box, dtype=np.float32).reshape(-1)
                if box.shape != (4,) or not np.isfinite(box).all():
                    raise ValueError(f"hint bbox must be 4 finite numbers, got {box!r}")
                if box[2] <= box[0] or box[3] <= box[1]:
                    raise ValueError(f"hint bbox {box.tolist()} is empty (need x2 > x1, y2 > y1)")
            if lm68 is not None:
                lm5 = lm5 if lm5 is not None else landmarks5_from_68(lm68)
            elif self.config.landmarks == "mesh":
                return self._finish(image, self._mesh_hint_face(box, lm5))
            elif lm5 is not None:
                lm68 = self.landmarker(image, box_from_landmarks5(lm5))
            elif box is None:  # unreachable: __call__ passes hints with one of HINT_KEYS
                raise ValueError("hint has none of bbox, landmarks5, landmarks68")
            else:
                # A box from an unknown detector: predict, rebuild a HOG-like box, predict again.
                first = self.landmarker(image, box)
                lm68 = self.landmarker(image, box_from_landmarks5(landmarks5_from_68(first)))
                lm5 = landmarks5_from_68(lm68)
            if box is None:
                box = box_from_landmarks5(lm5)
        except ValueError as exc:
            return DetectReject("bad_hint", str(exc))
        return self._finish(image, Face(box, 1.0, lm5, lm68))

    def _mesh_hint_face(self, box: np.ndarray | None, lm5: np.ndarray | None) -> Face:
        """A face for the mesh from a hint without 68 points: its 5 points (the mesh crop is
        built from them), else its box (crop centred on it, 1.5x its longer side, unrotated)."""
        if lm5 is not None:
            face = Face(box if box is not None else box_from_landmarks5(lm5), 1.0, lm5)
        else:
            assert box is not None  # a hint has at least one of bbox, landmarks5, landmarks68
            cy = float(box[1] + box[3]) / 2.0
            level = np.array([[box[0], cy], [box[2], cy]], np.float32)
            face = Face(box, 1.0, np.zeros((5, 2), np.float32), keypoints=level)
        return face

    def _finish(self, image: np.ndarray, face: Face) -> AlignedFace | DetectReject:
        """Align (or crop) one face whose 68 points are known, or whose mesh is to be computed
        (a mesh-mode hint); map its geometry to the output frame."""
        if face.landmarks68 is None:  # a mesh-mode hint: keep its own 5 points
            self._add_landmarks([image], [face], keep5=face.keypoints is None)
        box, score, lm5, lm68 = face.box, face.score, face.landmarks5, face.landmarks68
        assert lm68 is not None
        c = self.config
        try:
            if c.align:
                crop, m = align_face(image, lm5, c.size, c.margin, c.template)
            else:
                crop, m = crop_box(image, box, c.size, c.margin)
        except (ValueError, cv2.error) as exc:
            return DetectReject("alignment_failed", str(exc))
        if c.max_outside < 1.0:
            outside = outside_fraction(m, c.size, image.shape)
            if outside > c.max_outside:
                return DetectReject(
                    "face_cut",
                    f"{outside:.0%} of the {c.size}x{c.size} crop lies outside the "
                    f"{image.shape[1]}x{image.shape[0]} image (max_outside {c.max_outside})",
                )
        if face.mesh is not None:
            pose = pose_from_mesh(face.mesh)
            scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
            mesh = np.hstack([apply_transform(m, face.mesh[:, :2]), face.mesh[:, 2:] * scale])
        else:
            pose, mesh = estimate_pose(lm68, image.shape[:2]), None
        return AlignedFace(
            image=crop,
            bbox=transform_box(m, box),
            det_score=float(score),
            landmarks5=apply_transform(m, lm5),
            landmarks68=apply_transform(m, lm68),
            pose=np.asarray(pose, dtype=np.float32),
            transform=m,
            source_bbox=np.asarray(box, dtype=np.float32).copy(),
            mesh=None if mesh is None else mesh.astype(np.float32),
        )
