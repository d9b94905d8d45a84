"""Helpers of the fault-injection suite (tests/test_faults_*.py): tiny inputs, a CLI run in a
subprocess killed with SIGKILL at a seeded random moment, and checks that an outcome is either
correct data or one clear message (never a traceback, a hang, or a wrong row)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from maskforge.io.decode import encode_image

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
#: A decode-only recipe: a run of a few images takes about a second.
RECIPE = 'seed = 1\n[source]\nshard_size = 2\n[[variants]]\nname = "original"\naugment = false\n'


def image(i: int, side: int = 48) -> bytes:
    """A small distinct JPEG (``i`` decides its pixels)."""
    rng = np.random.default_rng(i)
    return encode_image(rng.integers(0, 255, (side, side, 3), dtype=np.uint8), "jpeg")


def tiny_tree(root: Path, identities: int = 4, per: int = 3) -> Path:
    """``identities`` identity folders of ``per`` small images each."""
    for k in range(identities):
        folder = root / f"id{k:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(per):
            (folder / f"{j}.jpg").write_bytes(image(100 * k + j))
    return root


def maskforge(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m maskforge ARGS`` to the end (a hang fails the test by its timeout)."""
    return subprocess.run([sys.executable, "-m", "maskforge", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=ROOT)  # fmt: skip


def killed(args: list[str], seed: int, low: float, high: float) -> float:
    """Start ``maskforge ARGS`` and SIGKILL it after a delay drawn from ``seed`` in [low, high]
    seconds (it may have finished by then); the delay used."""
    delay = random.Random(seed).uniform(low, high)
    proc = subprocess.Popen([sys.executable, "-m", "maskforge", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT)  # fmt: skip
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return delay


def one_clear_message(result: subprocess.CompletedProcess) -> None:
    """A command that failed did so with exit 2 and one message, no traceback."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    if result.returncode != 0:
        assert result.returncode == 2 and "Error:" in text, text
