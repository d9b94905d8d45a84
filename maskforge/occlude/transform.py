"""``Occlude``: the online occlusion transform for training (e.g. inside DataLoader workers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..seeding import OCCLUDE, rng_for
from .spec import OccluderChoice, as_spec, parse_mix


class Occlude:
    """Render an occluder from stored landmarks, seeded per ``(seed, sample_id)``.

    ``spec_or_mix``: an OccluderSpec, a spec string (``"surgical-blue"``), a mix string
    (``"surgical-blue:0.5,n95:0.5"``) or an :class:`OccluderChoice`. ``p``: probability of occluding a sample
    (1 = always). Calling ``t(image, landmarks68, sample_id)`` with a uint8 RGB array or a PIL
    image (landmarks in that image's pixel frame) returns ``(image, mask)``: the same type as the
    input and an (H, W) bool array (all False when the sample is left as is). The result depends
    only on (seed, sample_id, inputs): not on worker, batch or order. Assets load lazily once per
    process, so instances pickle cheaply to workers."""

    def __init__(
        self,
        spec_or_mix: Any,
        seed: int = 0,
        p: float = 1.0,
        wear: str | None = None,
        library: Any = None,
    ) -> None:
        if isinstance(spec_or_mix, str) and ("," in spec_or_mix or ":" in spec_or_mix):
            self.choices: Any = parse_mix(spec_or_mix, wear=wear)
        elif isinstance(spec_or_mix, OccluderChoice):
            self.choices = spec_or_mix
        else:
            self.choices = as_spec(spec_or_mix, wear=wear)
        self.seed = int(seed)
        self.p = float(p)
        self.library = library

    def __call__(
        self, image: Any, landmarks68: np.ndarray, sample_id: Any, yaw: float | None = None
    ) -> tuple[Any, np.ndarray]:
        from .render import render_occluder

        is_pil = not isinstance(image, np.ndarray)
        arr = np.asarray(image.convert("RGB")) if is_pil else image
        rng = rng_for(self.seed, OCCLUDE, sample_id)
        if self.p < 1.0 and rng.random() >= self.p:
            out, mask = arr, np.zeros(arr.shape[:2], bool)
        else:
            res = render_occluder(
                arr, landmarks68, self.choices, rng, yaw=yaw, library=self.library
            )
            out, mask = res.image, res.mask
        if is_pil:
            from PIL import Image

            return Image.fromarray(out), mask
        return out, mask

    def __repr__(self) -> str:
        c = self.choices
        mix = (
            ",".join(f"{n}:{w:g}" for n, w in c.choice.items())
            if isinstance(c, OccluderChoice)
            else c.label()
        )
        return f"Occlude({mix!r}, seed={self.seed}, p={self.p})"
