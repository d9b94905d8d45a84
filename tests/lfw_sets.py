"""Small folders of real lfw-dev faces that the cleaning tests share."""

from __future__ import annotations

import shutil
from pathlib import Path

IDENTITIES = ("Hans_Blix", "Halle_Berry", "Hu_Jintao")
INTRUDER = ("Jennifer_Aniston", "Jennifer_Aniston_0001.jpg")


def planted_set(lfw_dir: Path, root: Path) -> Path:
    """``root`` holding 3 identities x 4 real faces and one foreign face planted in Hans_Blix."""
    for name in IDENTITIES:
        (root / name).mkdir(parents=True)
        for f in sorted((lfw_dir / name).glob("*.jpg"))[:4]:
            shutil.copy(f, root / name / f.name)
    shutil.copy(lfw_dir / INTRUDER[0] / INTRUDER[1], root / "Hans_Blix" / INTRUDER[1])
    return root
