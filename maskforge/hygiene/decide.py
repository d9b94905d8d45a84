"""From findings to decisions: one record per (sample, issue), the action taken and why.

Actions (``hygiene.action``):

- ``report``: nothing changes; every finding is recorded with action ``report``;
- ``remove``: duplicates other than their set's keeper leave (``duplicate``, or
  ``duplicate_across_identities`` when the set spans identities: a certain label error), every
  image of a training identity that overlaps an evaluation set leaves (``eval_overlap``), and of
  identities that are one person only the label identity stays: the others leave
  (``same_person``);
- ``merge``: as ``remove``, except that same-person identities are relabelled to one label
  (action ``merge``, ``new_identity``) instead of leaving.

The label of a same-person group (connected pairs) is its identity with the most images (ties:
the smallest name). A sample or identity named in the keep list is never removed nor relabelled
(its records say ``kept``); a merge record of a sample removed for another issue says
``superseded``. Records are sorted by (source path, issue): same input, same records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..clean.keep import KeepList
from .centres import Centres, group_indices
from .findings import Findings
from .near import components
from .search import HygieneInput

ISSUES = ("eval_overlap", "duplicate_across_identities", "duplicate", "same_person")
RECORD_COLUMNS = (
    "sample_id", "source_path", "identity", "stage", "issue", "reason", "action", "partner",
    "partner_identity", "score", "new_identity", "detail",
)  # fmt: skip


@dataclass
class HygieneResult:
    """Records (dicts with :data:`RECORD_COLUMNS`), per sample ``removed`` and ``identity`` (the
    label after merges), the findings and the config's action."""

    records: list[dict[str, Any]]
    removed: np.ndarray
    identity: np.ndarray
    findings: Findings
    action: str
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counts for logs, the manifest and the dataset card."""
        by_issue: dict[str, int] = {}
        for r in self.records:
            by_issue[r["issue"]] = by_issue.get(r["issue"], 0) + 1
        f = self.findings
        return {
            "action": self.action,
            "duplicate_sets": len(f.duplicate_sets),
            "duplicate_sets_across_identities": sum(d.across for d in f.duplicate_sets),
            "same_person_pairs": len(f.identity_pairs),
            "eval_overlaps": sum(o.overlap for o in f.overlaps),
            "eval_name_only": sum(not o.overlap for o in f.overlaps),
            "records": by_issue,
            "removed": int(self.removed.sum()),
            "relabelled": int(sum(r["action"] == "merge" for r in self.records)),
            "seconds": f.stats.get("total_s"),
        }


def merge_labels(f: Findings, centres: Centres) -> dict[str, tuple[str, float]]:
    """identity -> (label identity, centre cosine to it) for every identity of a same-person
    group that is not the group's label."""
    names = [str(n) for n in centres.names]
    index = {n: i for i, n in enumerate(names)}
    a = np.array([index[p.a] for p in f.identity_pairs], np.int64)
    b = np.array([index[p.b] for p in f.identity_pairs], np.int64)
    out: dict[str, tuple[str, float]] = {}
    for comp in components(len(names), a, b, names):
        label = min(comp, key=lambda i: (-int(centres.counts[i]), names[i]))
        for i in comp:
            if i != label:
                cos = float(centres.centre[i] @ centres.centre[label])
                out[names[i]] = (names[label], cos)
    return out


def _record(inp: HygieneInput, i: int, issue: str, reason: str, partner: str,
            partner_identity: str, score: float, detail: str) -> dict[str, Any]:  # fmt: skip
    return {
        "sample_id": inp.sample_ids[i] if inp.sample_ids is not None else None,
        "source_path": str(inp.source_paths[i]), "identity": str(inp.identities[i]),
        "stage": "hygiene", "issue": issue, "reason": reason, "action": "report",
        "partner": partner, "partner_identity": partner_identity, "score": float(score),
        "new_identity": None, "detail": detail,
    }  # fmt: skip


def _findings_records(inp: HygieneInput, f: Findings, centres: Centres) -> list[dict[str, Any]]:
    paths, ids = inp.source_paths, inp.identities
    recs = []
    for d in f.duplicate_sets:
        issue = "duplicate_across_identities" if d.across else "duplicate"
        for m, how, cos, bits in zip(
            d.members[1:], d.how[1:], d.cosine[1:], d.bits[1:], strict=True
        ):
            detail = f"pHash {bits} bits" if bits >= 0 else ""
            recs.append(_record(inp, m, issue, how, str(paths[d.keeper]), str(ids[d.keeper]),
                                cos, detail))  # fmt: skip
    groups = group_indices(centres.codes, len(centres.names))
    names = {str(n): i for i, n in enumerate(centres.names)}
    for name, (label, cos) in sorted(merge_labels(f, centres).items()):
        for i in groups[names[name]]:
            recs.append(_record(inp, int(i), "same_person", "same_person", label, label, cos,
                                "identity centres"))  # fmt: skip
    for o in f.overlaps:
        if not o.overlap:
            continue
        best = o.evidence[0][2] if o.evidence else o.centre_cosine
        for i in groups[names[o.identity]]:
            recs.append(_record(inp, int(i), "eval_overlap", o.reason, f"{o.eval_set}:{o.eval_identity}",
                                o.eval_identity, o.centre_cosine,
                                f"signals {'+'.join(o.signals)}; closest image cosine {best:.3f}"))  # fmt: skip
    return recs


def decide(
    inp: HygieneInput, f: Findings, centres: Centres, action: str, keep: KeepList | None = None
) -> HygieneResult:
    """Records and the per-sample outcome of ``action`` (see module doc)."""
    keep = keep or KeepList()
    n = len(inp.source_paths)
    recs = _findings_records(inp, f, centres)
    removed = np.zeros(n, bool)
    identity = np.asarray(inp.identities, dtype=object).copy()
    row_of = {str(p): i for i, p in enumerate(inp.source_paths)}
    for r in recs:
        i = row_of[r["source_path"]]
        sid = r["sample_id"]
        if action == "report":
            continue
        if keep.contains(r["source_path"], sid) or (
            r["issue"] in ("same_person", "eval_overlap") and keep.contains(r["identity"])
        ):
            r["action"] = "kept"
        elif r["issue"] == "same_person" and action == "merge":
            r["action"], r["new_identity"] = "merge", r["partner"]
            identity[i] = r["partner"]
        else:
            r["action"] = "remove"
            removed[i] = True
    for r in recs:  # a sample removed for another issue is not relabelled
        if r["action"] == "merge" and removed[row_of[r["source_path"]]]:
            r["action"], r["new_identity"] = "superseded", None
            identity[row_of[r["source_path"]]] = inp.identities[row_of[r["source_path"]]]
    recs.sort(key=lambda r: (r["source_path"], ISSUES.index(r["issue"]), r["partner"]))
    return HygieneResult(recs, removed, identity, f, action)
