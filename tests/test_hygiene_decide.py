"""Same-person detection, duplicate sets, actions and their records (maskforge.hygiene)."""

from __future__ import annotations

import numpy as np
import pytest

from maskforge.clean.keep import KeepList
from maskforge.errors import RecipeError
from maskforge.hygiene import HygieneConfig, cache_key
from maskforge.hygiene.decide import RECORD_COLUMNS
from maskforge.hygiene.search import HygieneInput
from maskforge.hygiene.stage import run_hygiene, sample_signature


def _dataset(seed: int = 0):
    """20 identities of 10 images (tight clusters); id05's last 4 images filed as ``id05_b``
    (one person, two identities); image 7 of id01 copied into id12 (a cross-identity copy);
    image 3 of id02 duplicated (byte copy) in id02."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, 64))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    lab = np.repeat(np.arange(20), 10)
    x = centres[lab] + 0.02 * rng.standard_normal((200, 64))
    ids = [f"id{k:02d}" for k in lab]
    ids[56:60] = ["id05_b"] * 4
    x = np.vstack([x, x[17:18], x[23:24]])
    ids += ["id12", "id02"]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    paths = [f"{name}/{i:03d}.jpg" for i, name in enumerate(ids)]
    fh = [f"h{i}" for i in range(len(ids))]
    fh[-1] = fh[23]  # the in-identity copy has the same bytes
    return HygieneInput(x.astype(np.float32), ids, paths, sample_ids=[f"s{i}" for i in range(len(ids))],
                        file_hashes=fh)  # fmt: skip


CFG = {"near_cosine": 0.999, "crop_cosine": 0.9999, "same_person_cosine": 0.98}


def test_finds_split_identity_copy_and_duplicate():
    res = run_hygiene(_dataset(), HygieneConfig(**CFG))
    f = res.findings
    assert [(p.a, p.b) for p in f.identity_pairs] == [("id05", "id05_b")]
    assert f.identity_pairs[0].cosine > 0.98 and len(f.identity_pairs[0].evidence) == 3
    sets = {(d.across, tuple(sorted(d.members))) for d in f.duplicate_sets}
    assert sets == {(True, (17, 200)), (False, (23, 201))}
    across = next(d for d in f.duplicate_sets if d.across)
    assert across.keeper == 17  # the copy filed under id12 is the one that goes
    inner = next(d for d in f.duplicate_sets if not d.across)
    assert inner.how == ("keeper", "same_file")


def test_report_changes_nothing_but_records_everything():
    inp = _dataset()
    res = run_hygiene(inp, HygieneConfig(**CFG))
    assert not res.removed.any() and list(res.identity) == list(inp.identities)
    assert {r["action"] for r in res.records} == {"report"}
    assert all(set(r) == set(RECORD_COLUMNS) and r["stage"] == "hygiene" for r in res.records)
    by = {(r["source_path"], r["issue"]): r for r in res.records}
    copy = by[("id12/200.jpg", "duplicate_across_identities")]
    assert copy["partner"] == "id01/017.jpg" and copy["partner_identity"] == "id01"
    assert copy["reason"] == "near_duplicate" and copy["score"] > 0.999
    assert by[("id02/201.jpg", "duplicate")]["reason"] == "same_file"
    same = [r for r in res.records if r["issue"] == "same_person"]
    assert len(same) == 4 and {r["identity"] for r in same} == {"id05_b"}
    assert {r["partner"] for r in same} == {"id05"}  # the larger identity is the label


def test_remove_and_merge_actions():
    inp = _dataset()
    removed = run_hygiene(inp, HygieneConfig(action="remove", **CFG))
    gone = {inp.source_paths[i] for i in np.flatnonzero(removed.removed)}
    assert gone == {"id12/200.jpg", "id02/201.jpg"} | {f"id05_b/{i:03d}.jpg" for i in range(56, 60)}
    merged = run_hygiene(inp, HygieneConfig(action="merge", **CFG))
    assert {inp.source_paths[i] for i in np.flatnonzero(merged.removed)} == {
        "id12/200.jpg",
        "id02/201.jpg",
    }
    assert set(merged.identity[56:60]) == {"id05"} and merged.identity[55] == "id05"
    assert [r["new_identity"] for r in merged.records if r["action"] == "merge"] == ["id05"] * 4
    assert merged.summary()["relabelled"] == 4 and merged.summary()["removed"] == 2


def test_keep_list_overrides_decisions():
    inp = _dataset()
    keep = KeepList(frozenset({"id12/200.jpg", "id05_b"}))
    res = run_hygiene(inp, HygieneConfig(action="merge", **CFG), keep=keep)
    assert {inp.source_paths[i] for i in np.flatnonzero(res.removed)} == {"id02/201.jpg"}
    assert list(res.identity) == list(inp.identities)
    assert sum(r["action"] == "kept" for r in res.records) == 5


def test_deterministic_records():
    a = run_hygiene(_dataset(), HygieneConfig(action="merge", **CFG))
    b = run_hygiene(_dataset(), HygieneConfig(action="merge", **CFG))
    assert a.records == b.records
    keys = [(r["source_path"], r["issue"]) for r in a.records]
    assert keys == sorted(keys, key=lambda k: (k[0], ["eval_overlap", "duplicate_across_identities",
                                                      "duplicate", "same_person"].index(k[1])))  # fmt: skip


def test_probe_search_gives_the_same_findings():
    inp = _dataset()
    exact = run_hygiene(inp, HygieneConfig(search="exact", **CFG))
    probe = run_hygiene(inp, HygieneConfig(search="probe", nprobe=2, **CFG))
    assert exact.records == probe.records


def test_sample_signature():
    img = np.zeros((40, 30, 3), np.uint8)
    img[10:20] = 200
    fh, ph, h = sample_signature(b"abc", img)
    assert fh is not None and ph is not None and h > 0
    assert sample_signature(None, None) == (None, None, 0)


def test_config_defaults_and_cache_key():
    cfg = HygieneConfig()
    assert cfg.action == "report" and cfg.limits().same_person_cosine == 0.983
    assert cache_key(cfg) == cache_key(HygieneConfig(device="cpu", memory_mb=64))
    assert cache_key(cfg) != cache_key(HygieneConfig(action="remove"))
    assert cache_key(cfg) != cache_key(HygieneConfig(same_person_cosine=0.99))
    with pytest.raises(RecipeError, match="hygiene.action"):
        HygieneConfig.from_dict({"action": "delete"})
    with pytest.raises(RecipeError, match="near_cosine"):
        HygieneConfig.from_dict({"near_cosine": 1.5})
    with pytest.raises(RecipeError, match="no calibrated"):
        HygieneConfig(embedder="facenet-vggface2").limits()
