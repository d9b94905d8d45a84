"""Value names shared by recipes, stages and CLI options (plain constants, no imports, so a CLI
can offer them as choices without loading the models)."""

from __future__ import annotations

#: How a face mask is worn (the one definition).
WEARS = ("correct", "nose_exposed", "chin")
