"""Value names shared by recipes, stages and CLI options (plain constants, no imports, so a CLI
can offer them as choices without loading the models)."""

from __future__ import annotations

from typing import Literal, get_args

#: How a face mask is worn (the one definition; :data:`WEARS` is derived from it).
Wear = Literal["correct", "nose_exposed", "chin"]
WEARS: tuple[Wear, ...] = get_args(Wear)

#: What to do about a hand in front of the lower face when a mask is drawn
#: (:mod:`maskforge.occlude.front`): composite the mask behind it, reject the face, or no check.
InFront = Literal["keep", "skip", "off"]
IN_FRONT: tuple[InFront, ...] = get_args(InFront)

#: What runs MediaPipe's models (BlazeFace, Face Mesh, the hand models), resolved by
#: :func:`maskforge.detect.tflite_runtime.resolve_runtime`: ``auto`` (LiteRT on the CPU when
#: installed, else torch), ``torch`` (CPU or CUDA) or ``litert`` (CPU only).
RuntimeName = Literal["auto", "torch", "litert"]
RUNTIMES: tuple[RuntimeName, ...] = get_args(RuntimeName)

#: The reject of a face with a hand in front of its lower face (stage ``occlude``).
OCCLUDED_LOWER_FACE = "occluded_lower_face"

#: The reject reasons docs/schema.md documents, by the stage that records them (the rejects
#: table's ``stage`` and ``reason`` columns). The overlay log's ``reason`` uses the same codes.
REJECT_REASONS: dict[str, tuple[str, ...]] = {
    "list": (
        "hidden", "not_an_image_file", "not_in_identity_folder", "symlink_loop", "duplicate_file",
        "output_folder",
    ),
    "decode": (
        "empty_file", "truncated", "corrupt", "not_an_image", "too_many_pixels", "too_small",
        "unreadable",
    ),
    "detect": (
        "no_face", "face_too_small", "low_score", "face_cut", "bad_image", "bad_hint",
        "alignment_failed", "error",
    ),
    "augment": ("no_landmarks68", "occluder_failed"),
    "occlude": (OCCLUDED_LOWER_FACE,),
}
