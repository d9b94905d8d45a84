"""report.html and roc.png of ``maskforge eval pairs``: content, ordering, headless Chromium."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from maskforge.eval.faces import Embeddings, Failure
from maskforge.eval.output import start
from maskforge.eval.pairs import Pair
from maskforge.eval.protocol import verification_metrics
from maskforge.eval.report import confident_errors, write_verify_outputs
from maskforge.eval.verify import VerifyResult
from maskforge.io.decode import encode_image
from tests.test_report_build import find_chromium, render


def synthetic_result(n_pairs: int = 120, seed: int = 0) -> VerifyResult:
    """Pairs with overlapping distance distributions (many errors), thumbnails of flat colours."""
    rng = np.random.default_rng(seed)
    pairs, dist = [], []
    emb = Embeddings()
    for k in range(n_pairs):
        same = k % 2 == 0
        a, b = f"p<{k}>/a.jpg", f"q{k}/b.jpg"
        pairs.append(Pair(a, b, same, k % 10))
        dist.append(rng.normal(0.8 if same else 1.1, 0.2))
        for path, masked in ((a, False), (b, True)):
            color = rng.integers(0, 255, 3).astype(np.uint8)
            emb.thumbs[(path, masked)] = encode_image(np.full((112, 112, 3), color), "jpeg")
    pairs.append(Pair("x/fail.jpg", "y/ok.jpg", True, 0))
    dist.append(np.inf)
    d = np.array(dist)
    metrics = verification_metrics(d, [p.same for p in pairs], [p.fold for p in pairs])
    failures = [Failure("x/fail.jpg", "no_face", "dlib-hog found no face in a 250x250 image")]
    metrics.update(failures={"images": 1, "pairs": 1, "matched_pairs": 1, "list": []},
                   embedder="test", mask="one", occluder="surgical:1")  # fmt: skip
    return VerifyResult(metrics, pairs, d, failures, emb, "one")


def test_confident_errors_are_ordered_and_capped():
    res = synthetic_result()
    t = res.metrics["threshold"]
    fa, fr = confident_errors(res, t)
    d = res.distances
    same = np.array([p.same for p in res.pairs])
    assert 0 < len(fa) <= 20 and 0 < len(fr) <= 20
    assert all(not same[k] and d[k] <= t for k in fa) and all(same[k] and d[k] > t for k in fr)
    assert np.all(np.diff(d[fa]) >= 0) and np.all(np.diff(d[fr]) <= 0)  # most confident first
    assert d[fa[0]] == d[~same].min()
    assert np.isfinite(d[fr]).all()  # failures are listed apart, not as false rejects


def test_report_files_and_chromium(tmp_path):
    res = synthetic_result()
    out = tmp_path / "out"
    start(out, "pairs")
    files = write_verify_outputs(res, out)
    html = files["report"].read_text()
    fa, fr = confident_errors(res, res.metrics["threshold"])
    assert html.count('<div class="pair">') == len(fa) + len(fr)
    assert html.count("(masked)") == len(fa) + len(fr)  # mask one: every second image is masked
    assert "p&lt;" in html and "<figcaption>p<" not in html  # paths escaped
    assert "x/fail.jpg" in html and "no_face" in html
    assert "unresolvable" in html  # 60 impostor pairs cannot resolve FAR 0.001
    with Image.open(files["roc"]) as im:
        assert im.format == "PNG" and im.size == (640, 440)
    browser = find_chromium()
    if browser is None:
        pytest.skip("chromium not found (Debian: apt-get install -y chromium)")
    dom = render(browser, files["report"], tmp_path / "profile")
    total = int(re.search(r'data-images-total="(\d+)"', dom).group(1))
    loaded = int(re.search(r'data-images-loaded="(\d+)"', dom).group(1))
    assert total == 1 + 2 * (len(fa) + len(fr))  # the ROC and two thumbnails per pair
    assert loaded == total
