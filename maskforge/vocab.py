"""Value names shared by recipes, stages and CLI options (plain constants, no imports, so a CLI
can offer them as choices without loading the models)."""

from __future__ import annotations

from typing import Literal, get_args

#: How a face mask is worn (the one definition; :data:`WEARS` is derived from it).
Wear = Literal["correct", "nose_exposed", "chin"]
WEARS: tuple[Wear, ...] = get_args(Wear)
