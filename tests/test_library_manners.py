"""Importing maskforge (every module of it), and drawing the report's histogram, changes no
process-wide state; no project import hides behind ``except ImportError``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "maskforge"

# Third-party libraries are imported first, so that only maskforge's own effects are compared.
SCRIPT = r"""
import json, logging, os, signal, sys, warnings, importlib, pkgutil
import numpy, PIL.Image, PIL.ImageFile, pyarrow, cv2, jinja2, click, matplotlib
for name in ("torch", "pydantic", "webdataset"):  # what maskforge's modules import at the top
    try:
        importlib.import_module(name)
    except ImportError:
        pass

def state():
    root = logging.getLogger()
    return {
        "max_image_pixels": PIL.Image.MAX_IMAGE_PIXELS,
        "load_truncated": PIL.ImageFile.LOAD_TRUNCATED_IMAGES,
        "mpl_backend": str(matplotlib.rcParams._get_backend_or_none()),
        "warnings": [repr(f) for f in warnings.filters],
        "root_handlers": [repr(h) for h in root.handlers], "root_level": root.level,
        "maskforge_logger": [repr(h) for h in logging.getLogger("maskforge").handlers],
        "environ": dict(os.environ),
        "np_err": numpy.geterr(),
        "cv2_threads": cv2.getNumThreads(),
        "signals": {s.name: repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)},
        "excepthook": repr(sys.excepthook),
        "pyplot_loaded": "matplotlib.pyplot" in sys.modules,
    }

before = state()
import maskforge
names = sorted(m.name for m in pkgutil.walk_packages(maskforge.__path__, "maskforge."))
for name in names:
    importlib.import_module(name)
import tempfile
from maskforge.report.histogram import draw_histogram  # drawing must not pick a backend either
draw_histogram(numpy.linspace(0, 1, 50), numpy.array([0.9]), os.path.join(tempfile.mkdtemp(), "h.svg"), (0.5, 0.5))
after = state()
print(json.dumps({"modules": len(names), "changed": {k: [before[k], after[k]] for k in before if before[k] != after[k]}}))
"""


def test_import_changes_no_process_state() -> None:
    # today's main: PIL.Image.MAX_IMAGE_PIXELS is set to None by maskforge.io.decode
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["modules"] > 50
    assert result["changed"] == {}


def _project_imports_in_try(tree: ast.AST) -> list[int]:
    """Lines of ``try`` blocks that import a maskforge module and catch ImportError."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for h in node.handlers:
            types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
            caught |= {t.id for t in types if isinstance(t, ast.Name)}
        if not caught & {"ImportError", "ModuleNotFoundError"}:
            continue
        for stmt in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            own = (isinstance(stmt, ast.ImportFrom) and (stmt.level > 0 or (stmt.module or "").startswith("maskforge"))) or (
                isinstance(stmt, ast.Import) and any(a.name.startswith("maskforge") for a in stmt.names))
            # import_module of a maskforge name (a user's module, e.g. `eval --model`, may fail)
            call = (isinstance(stmt, ast.Call) and "import_module" in ast.unparse(stmt.func)
                    and bool(stmt.args) and isinstance(stmt.args[0], ast.Constant)
                    and str(stmt.args[0].value).startswith(("maskforge", ".")))
            if own or call:
                lines.append(node.lineno)
    return lines


def test_no_project_import_wrapped_in_except_import_error() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = _project_imports_in_try(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[str(path.relative_to(PACKAGE.parent))] = lines
    assert found == {}
