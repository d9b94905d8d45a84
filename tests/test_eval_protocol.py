"""The verification protocol on hand-made distances whose accuracy, EER and TAR are known, and
property tests against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskforge.eval.protocol import (
    accuracy_at,
    auc,
    best_threshold,
    eer,
    kfold_accuracy,
    roc,
    tar_at_far,
    verification_metrics,
)

GEN = [0.1, 0.2, 0.3, 0.6]
IMP = [0.5, 0.7, 0.8, 0.9]


def labelled(gen, imp):
    d = np.array(list(gen) + list(imp), float)
    s = np.array([True] * len(gen) + [False] * len(imp))
    return d, s


def test_hand_made_roc_auc_eer_and_best_threshold():
    d, s = labelled(GEN, IMP)
    far, tar, th = roc(d, s)
    assert far.tolist() == [0, 0, 0, 0, 0.25, 0.25, 0.5, 0.75, 1.0]
    assert tar.tolist() == [0, 0.25, 0.5, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0]
    assert th[0] == -np.inf and th[-1] == 0.9
    assert auc(far, tar) == pytest.approx(15 / 16)  # 15 of 16 (genuine, impostor) orderings right
    assert eer(far, tar) == pytest.approx(0.25)  # t in [0.5, 0.6): FAR = FRR = 1/4
    t, acc = best_threshold(d, s)
    assert acc == pytest.approx(7 / 8) and 0.3 < t < 0.5  # accept 0.1..0.3, reject the rest


def test_eer_interpolates_between_roc_points():
    # 2 genuine, 2 impostors, interleaved: g 0.1, i 0.2, g 0.3, i 0.4
    far, tar, _ = roc(*labelled([0.1, 0.3], [0.2, 0.4]))
    # (FAR, TAR): (0,0) (0,.5) (.5,.5) (.5,1) (1,1): FAR = FRR = 0.5 at (.5, .5)
    assert eer(far, tar) == pytest.approx(0.5)
    far, tar, _ = roc(*labelled([0.1, 0.2, 0.3], [0.25, 0.4, 0.5]))
    # (0,1/3) -> (0,2/3) -> (1/3,2/3): FRR 1/3 = FAR 1/3 at the third point
    assert eer(far, tar) == pytest.approx(1 / 3)


def test_tar_at_far_counts_impostors_and_marks_unresolvable():
    imp = np.linspace(1.0, 2.0, 1000)
    gen = [0.5] * 90 + [1.5] * 10
    d, s = labelled(gen, imp)
    r = tar_at_far(d, s, targets=(0.6, 0.1, 1e-3, 1e-4))
    assert r["0.001"]["tar"] == pytest.approx(0.9) and r["0.001"]["far"] == 0.0
    assert r["0.001"]["resolvable"] and r["0.001"]["impostors"] == 1000
    assert r["0.001"]["false_accepts"] == 0 and r["0.001"]["threshold"] == 0.5
    assert r["0.1"]["tar"] == pytest.approx(0.9)
    assert r["0.6"]["tar"] == 1.0  # 1.5 is reached below FAR 0.6
    assert r["0.6"]["false_accepts"] == int((imp <= 1.5).sum()) and r["0.6"]["far"] <= 0.6
    assert r["0.0001"]["resolvable"] is False and r["0.0001"]["tar"] is None


def test_kfold_thresholds_come_from_the_other_folds():
    # fold 0: g .1 .2, i .55 .6 ; fold 1: g .3 .8, i .7 .9
    d = np.array([0.1, 0.2, 0.55, 0.6, 0.3, 0.8, 0.7, 0.9])
    s = np.array([1, 1, 0, 0, 1, 1, 0, 0], bool)
    f = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    kf = kfold_accuracy(d, s, f)
    # fold 1 trains fold 0: best accepts .3 only (ties go to the smallest threshold) -> t = 0.5
    assert kf.thresholds[0] == pytest.approx(0.5)
    assert kf.thresholds[1] == pytest.approx((0.2 + 0.55) / 2)
    assert kf.accuracies == [1.0, 0.75]
    assert kf.mean == pytest.approx(0.875)
    assert kf.std == pytest.approx(0.25 / math.sqrt(2))  # sample std (ddof=1), as LFW


def test_failed_pairs_stay_in_every_denominator():
    d, s = labelled([0.1, 0.2, np.inf], [0.8, np.inf])
    m = verification_metrics(d, s, [0, 1, 0, 1, 0])
    assert m["pairs"] == 5 and m["matched"] == 3 and m["mismatched"] == 2
    assert m["threshold_accuracy"] == pytest.approx(4 / 5)  # the failed matched pair is wrong
    far, tar, _ = roc(d, s)
    assert tar[far == 0].max() == pytest.approx(2 / 3)
    assert accuracy_at(d, s, 10.0) == pytest.approx(3 / 5)  # inf is never accepted
    with pytest.raises(ValueError):
        roc([0.1, np.nan], [True, False])


distances = st.lists(
    st.sampled_from([0.05 * k for k in range(30)]), min_size=2, max_size=40
)  # coarse values: many ties


@settings(max_examples=80, deadline=None)
@given(gen=distances, imp=distances)
def test_properties_against_brute_force(gen, imp):
    d, s = labelled(gen, imp)
    g, i = np.array(gen), np.array(imp)
    far, tar, _ = roc(d, s)
    mw = ((i[None, :] > g[:, None]).sum() + 0.5 * (i[None, :] == g[:, None]).sum()) / g.size / i.size
    assert auc(far, tar) == pytest.approx(mw)
    cands = np.concatenate([[-1.0], np.unique(d)])
    accs = [accuracy_at(d, s, t) for t in cands]
    t, acc = best_threshold(d, s)
    assert acc == pytest.approx(max(accs)) and accuracy_at(d, s, t) == pytest.approx(acc)
    fars = np.array([(i <= t).mean() for t in cands])
    tars = np.array([(g <= t).mean() for t in cands])
    for target, r in tar_at_far(d, s, targets=(0.5, 0.1)).items():
        if r["resolvable"]:
            assert r["far"] <= float(target)
            assert r["tar"] == pytest.approx(tars[fars <= float(target)].max())
    e = eer(far, tar)
    frr = 1 - tars
    assert np.minimum(fars, frr).min() - 1e-12 <= e <= np.maximum(fars, frr).min() + 1e-12
