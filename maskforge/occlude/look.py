"""How a mask takes on the photograph it is drawn into: :class:`PhotoLook`, the rendering options.

One model, one place for the defaults: the recipe's ``occlude.look`` table (docs/recipes.md),
``render_occluder(..., look=PhotoLook(...))`` and ``Occlude(..., look=...)`` all take it. With
``PhotoLook(match_photo=False, ...)`` a mask is drawn the way maskforge drew it before issue 20
(flat asset colours, lit only by the covered skin's large-scale luminance); see docs/occluders.md,
"Photographic look", for what each step does and the realism figures.
"""

from __future__ import annotations

from pydantic import Field

from ..config import Table


class PhotoLook(Table):
    """Rendering options of masks: match the photograph (light, colour cast, blur, noise, JPEG)
    and the contact shadow under the lower edge."""

    table_name = "occlude.look"

    match_photo: bool = Field(
        default=True,
        description="match the photograph: the face's light and shadow side, the scene's colour "
        "cast, the face's blur, noise and JPEG quality (false: flat asset colours)",
    )
    shading: float = Field(
        default=0.8,
        ge=0.0,
        le=2.0,
        description="strength of the face's low-frequency light on the mask (exponent of the "
        "covered skin's relative luminance; 0 = unlit)",
    )
    overhead: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="light from above on the mask beyond the face's own shading: the relative "
        "luminance step from its top to its bottom (its lower part turns down, away from the "
        "light)",
    )
    color_cast: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="share of the scene's colour cast (white balance of the face's surroundings) "
        "taken on by the mask",
    )
    saturation: float = Field(
        default=0.5,
        ge=0.0,
        le=2.0,
        description="how much the mask's chroma follows the face's colourfulness (exponent of the "
        "face's saturation over that of real masked photos; 0 = the colour as given)",
    )
    texture: float = Field(
        default=0.04,
        ge=0.0,
        le=0.3,
        description="amplitude of the fabric texture (standard deviation, relative luminance, "
        "of the weave before the camera's blur, on a face of typical fine detail; grain size "
        "``weave``, per face scaled by ``detail``)",
    )
    weave: float = Field(
        default=0.02,
        ge=0.0,
        le=0.2,
        description="size of the fabric texture's grain (Gaussian scale, as a fraction of the "
        "inter-ocular distance: the same on a small and a large face); the camera blurs it as "
        "it blurs the eyes, so on a small or blurred face a fine weave is averaged away; 0 = no "
        "texture",
    )
    detail: float = Field(
        default=0.0,
        ge=0.0,
        le=8.0,
        description="how much the fabric texture's amplitude follows the fine detail the camera "
        "kept on the face (exponent of the upper face's fine-detail energy over that of a typical "
        "face; gain clipped to 0.1-4): denoising, compression and blur smooth the fabric as they "
        "smooth the skin; 0 = the same amplitude on every face",
    )
    exposure: float = Field(
        default=1.0,
        ge=0.0,
        le=1.5,
        description="how much the mask's mean luminance follows the face's exposure (its colour, "
        "as real masks photograph, times (upper-face luminance / that of real masked photos) to "
        "this power; 0 = the colour's luminance whatever the face)",
    )
    luminance_spread: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="per-face spread (standard deviation) of the mask's luminance around its "
        "colour's, as a fraction of the luminance of a real masked face: how differently masks "
        "of one colour photograph (more, relatively, for dark ones)",
    )
    noise: float = Field(
        default=0.4,
        ge=0.0,
        le=3.0,
        description="the mask's luminance noise as a multiple of the face's (median over faces; "
        "noise is added only up to that level, never on top of what the mask has)",
    )
    grain_spread: float = Field(
        default=1.2,
        ge=0.0,
        le=1.5,
        description="per-face spread (standard deviation of the log) of the mask's noise and "
        "fabric texture around ``noise`` and ``texture``: smooth and grainy masks",
    )
    lower_shadow: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="opacity of the soft contact shadow the mask casts under its lower edge",
    )

    nose_wire: bool = Field(
        default=True,
        description="draw the nose-wire crease of surgical and KN95 masks: a thin ridge along "
        "the top edge over the nose bridge with a soft shadow line beneath, fading over the "
        "cheeks (docs/occluders.md)",
    )
    ear_loops: bool = Field(
        default=True,
        description="draw the elastic ear loops from the mask's side corners to the ears, on the "
        "sides that face the camera (docs/occluders.md)",
    )


#: The defaults (what a recipe without an ``occlude.look`` table gets).
DEFAULT_LOOK = PhotoLook()
#: The look of maskforge before issue 20, for comparisons (benchmarks, tests).
FLAT_LOOK = PhotoLook(
    match_photo=False, lower_shadow=0.0, texture=0.0, ear_loops=False, nose_wire=False
)
