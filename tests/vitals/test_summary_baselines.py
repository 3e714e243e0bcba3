"""The data team's baselines (vitals/baselines.py) learn from the stay statistics they are given."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from seqhealth.vitals.baselines import summary_baseline_risks, summary_baselines, summary_features

V = 2
LAYOUT = {"n_variables": V, "observed_offset": V}


def _stays(n: int, seed: int, hourly: bool = False) -> list[dict]:
    """Stays whose outcome is "variable 0 was ever measured above 1.5" (per stay), or from the
    first such hour on (per hour): visible in the max statistic, not in the last value."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        steps = int(rng.integers(4, 16))
        values = rng.normal(size=(steps, V)).astype(np.float32)
        observed = (rng.random((steps, V)) < 0.6).astype(np.float32)
        high = np.cumsum((values[:, 0] > 1.5) & (observed[:, 0] > 0)) > 0
        x = np.concatenate([values, observed, np.zeros((steps, 1), np.float32)], axis=1)
        out.append({"x": x, "y": high.astype(np.float32) if hourly else float(high[-1]), "length": steps})
    return out


def test_per_stay_baselines_find_a_signal_only_the_statistics_hold():
    train, val, test = _stays(400, 0), _stays(100, 1), _stays(200, 2)
    x, y = summary_features(test, LAYOUT, running=False)
    assert x.shape == (200, 5 * V + 2 * V + 1) and y.shape == (200,)
    y_test = np.asarray([s["y"] for s in test])
    risks = summary_baseline_risks(train, val, test, LAYOUT, running=False)
    assert set(risks) == {"summary_logreg", "summary_gbm"}
    for name, (val_risks, test_risks) in risks.items():
        assert len(val_risks) == 100 and len(test_risks) == 200 and all(len(r) == 1 for r in test_risks)
        assert roc_auc_score(y_test, np.concatenate(test_risks)) > 0.85, name


def test_hourly_baselines_score_every_hour_of_every_stay():
    train, val, test = _stays(300, 3, hourly=True), _stays(60, 4, hourly=True), _stays(100, 5, hourly=True)
    model_input = {"splits": {"train": train, "val": val, "test": test}, "data_hparams": LAYOUT}
    got = summary_baselines(model_input, True, lambda labels, risks: 0.5,
                            lambda risks, t: {"hours": sum(len(r) for r in risks), "auroc": roc_auc_score(
                                np.concatenate([s["y"] for s in test]), np.concatenate(risks)), "threshold": t})  # fmt: skip
    for name, scores in got.items():
        assert scores["hours"] == sum(len(s["x"]) for s in test) and scores["threshold"] == 0.5
        assert scores["auroc"] > 0.9, name
        assert scores["description"] and scores["calibration"] in ("platt", "isotonic")


def test_no_value_channel_or_one_class_means_no_baseline():
    stays = _stays(50, 6)
    assert summary_baseline_risks(stays, stays, stays, {"n_variables": 0, "observed_offset": -1}, False) == {}
    one_class = [{**s, "y": 0.0} for s in stays]
    assert summary_baseline_risks(one_class, stays, stays, LAYOUT, False) == {}


def test_cohort_scale_training_rows_are_capped_by_whole_stays():
    from seqhealth.vitals.baselines import _capped_stays

    stays = _stays(200, 7, hourly=True)
    total = sum(len(s["x"]) for s in stays)
    assert _capped_stays(stays, True, max_rows=total) is stays  # under the cap: all of them
    kept = _capped_stays(stays, True, max_rows=total // 3)
    assert 0 < sum(len(s["x"]) for s in kept) <= total // 3
    assert all(any(k is s for s in stays) for k in kept)  # whole stays, none cut
    assert [id(k) for k in kept] == [id(k) for k in _capped_stays(stays, True, max_rows=total // 3)]  # seeded
    assert len(_capped_stays(stays, False, max_rows=50)) == 50  # per stay: one row each
