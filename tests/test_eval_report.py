"""report.html and roc.png of ``maskforge eval pairs``: content, ordering, headless Chromium."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from maskforge.eval.faces import Embeddings, Failure
from maskforge.eval.identify import IdentifyResult
from maskforge.eval.output import start
from maskforge.eval.pairs import Pair
from maskforge.eval.protocol import verification_metrics
from maskforge.eval.report import confident_errors, write_verify_outputs
from maskforge.eval.verify import VerifyResult
from maskforge.io.decode import encode_image
from tests.test_report_build import find_chromium, render


def _images_in_browser(report, tmp_path) -> tuple[int, int]:  # noqa: ANN001
    """The report page rendered in headless Chromium (skips when absent): its images, and how
    many of them loaded."""
    browser = find_chromium()
    if browser is None:
        pytest.skip("chromium not found (Debian: apt-get install -y chromium)")
    dom = render(browser, report, tmp_path / "profile")
    total = int(re.search(r'data-images-total="(\d+)"', dom).group(1))
    loaded = int(re.search(r'data-images-loaded="(\d+)"', dom).group(1))
    return total, loaded


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
    total, loaded = _images_in_browser(files["report"], tmp_path)
    assert total == 1 + 2 * (len(fa) + len(fr))  # the ROC and two thumbnails per pair
    assert loaded == total


# ------------------------------------------------------------------ eval identify (issue 22, 6)


def synthetic_identification() -> IdentifyResult:
    """4 identities with one gallery image each (unit vectors e0..e3) and 3 masked probes each,
    some pulled towards another identity; one probe failed."""
    from maskforge.eval.identify import identification_metrics, identity_distances, probe_rows

    rng = np.random.default_rng(0)
    names = ["ann", "bob", "c<d>", "dan"]
    emb = Embeddings()
    basis = np.eye(8, dtype=np.float32)
    gallery = [(f"{n}/g.jpg", n) for n in names]
    for k, (path, _) in enumerate(gallery):
        emb.vectors[(path, False)] = basis[k]
        emb.thumbs[(path, False)] = encode_image(np.full((112, 112, 3), 40 * k, np.uint8), "jpeg")
    probes, pull = [], {("ann", 1): (1, 0.9), ("bob", 2): (0, 0.4), ("dan", 0): (2, 0.8)}
    for k, n in enumerate(names):
        for j in range(3):
            path = f"{n}/p{j}.jpg"
            probes.append((path, n))
            if (n, j) == ("c<d>", 2):
                emb.failures[path] = Failure(path, "no_face", "no face")
                continue
            other, w = pull.get((n, j), (k, 0.0))
            v = (1 - w) * basis[k] + w * basis[other] + 0.05 * rng.normal(size=8).astype(np.float32)
            emb.vectors[(path, True)] = v / np.linalg.norm(v)
            emb.thumbs[(path, True)] = encode_image(np.full((112, 112, 3), 200, np.uint8), "jpeg")
    ids = {n: i for i, n in enumerate(names)}
    g = np.stack([emb.get(p, False) for p, _ in gallery])
    vecs = np.stack([emb.get(p, True) if emb.get(p, True) is not None else np.zeros(8) for p, _ in probes])
    dist = identity_distances(vecs, g, np.arange(4), 4)
    dist[[i for i, (p, _) in enumerate(probes) if emb.get(p, True) is None]] = np.inf
    truth = np.array([ids[n] for _, n in probes])
    metrics = identification_metrics(dist, truth, 0.25)
    metrics.update(gallery_images=4, gallery_identities=4, gallery_per_identity=1,
                   failures={"images": 1, "probes": 1, "gallery": 0, "list": []},
                   embedder="onnx", mask="probes", occluder="surgical-blue:1", seed=0, size=112)  # fmt: skip
    rows = probe_rows(dist, truth)
    table = [(p, n, names[k] if k >= 0 else "", r, d) for (p, n), (k, r, d) in zip(probes, rows, strict=True)]
    return IdentifyResult(metrics, gallery, probes, sorted(emb.failures.values(), key=lambda f: f.path), emb, table)


def test_identify_report(tmp_path):
    """eval identify writes report.html like eval pairs: metrics, ranks, the most confident
    misidentifications (probe, the gallery image it was taken for, its own), failures."""
    from maskforge.eval.identify_report import misidentified, write_identify_outputs

    res = synthetic_identification()
    wrong = misidentified(res)
    assert [w["path"] for w in wrong] == ["ann/p1.jpg", "dan/p0.jpg"]  # 0.9 pull, then 0.8
    assert wrong[0]["nearest"] == "bob" and wrong[0]["nearest_path"] == "bob/g.jpg"
    assert wrong[0]["own_path"] == "ann/g.jpg" and wrong[0]["d_nearest"] < wrong[1]["d_nearest"]
    out = tmp_path / "out"
    start(out, "identify")
    files = write_identify_outputs(res, out)
    assert sorted(p.name for p in out.iterdir()) == ["failures.csv", "metrics.json", "probes.csv", "report.html"]
    html = files["report"].read_text()
    assert html.count('<div class="trio">') == 2 and html.count("(masked)") == 2
    assert "c&lt;d&gt;/p2.jpg" in html and "no_face" in html  # escaped, failure listed
    assert "<td>1</td><td class=\"n\">9</td>" in html  # 12 probes - 1 failed - 2 at rank 2
    assert "taken for <b>bob</b>" in html and "rank-1" in html
    total, loaded = _images_in_browser(files["report"], tmp_path)
    assert total == loaded == 6  # three thumbnails per misidentified probe
