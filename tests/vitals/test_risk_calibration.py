"""Calibration, alert and subgroup computations (engine/calibration, engine/alerts, engine/subgroups)
on outcomes drawn from known risks, so the right answer is known without a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from seqhealth.engine.alerts import (
    alert_counts,
    alert_episodes,
    alert_table,
    threshold_at_specificity,
    warning_hours,
)
from seqhealth.engine.calibration import (
    apply_calibration,
    calibration_slope_intercept,
    calibration_summary,
    choose_calibrator,
    ece,
    fit_calibrator,
)
from seqhealth.engine.subgroups import MIN_EVENTS, age_band, subgroup_table


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def weighted_scores():
    """Outcomes drawn from a true risk; the 'model' reports the odds times 6 (a positive-class
    weight of 6, as inverse-odds training does) and is over-confident (logit x 1.5)."""
    rng = np.random.default_rng(0)
    z = rng.normal(-2.0, 1.2, size=8000)
    y = (rng.random(z.size) < _sigmoid(z)).astype(int)
    reported = _sigmoid(1.5 * z + np.log(6.0))
    return y, reported, _sigmoid(z)


def test_platt_on_one_half_calibrates_the_other(weighted_scores):
    y, p, true_risk = weighted_scores
    fit, held = slice(0, 4000), slice(4000, None)
    calibrator = fit_calibrator(y[fit], p[fit], "platt")
    risk = apply_calibration(calibrator, p[held])
    # The inverse map of the distortion: slope 1/1.5, intercept -log(6)/1.5.
    assert calibrator["slope"] == pytest.approx(1 / 1.5, abs=0.08)
    assert calibrator["intercept"] == pytest.approx(-np.log(6.0) / 1.5, abs=0.25)
    before = calibration_summary(y[held], p[held], baseline_brier=brier_score_loss(y[held], np.full(4000, y[fit].mean())))
    after = calibration_summary(y[held], risk, baseline_brier=before["brier"] / (1 - before["brier_skill"]))
    assert before["brier_skill"] < 0 < after["brier_skill"]
    assert after["ece"] < 0.02 < 0.1 < before["ece"]
    assert after["calibration_slope"] == pytest.approx(1.0, abs=0.15)
    assert after["calibration_intercept"] == pytest.approx(0.0, abs=0.15)
    np.testing.assert_allclose(risk, true_risk[held], atol=0.03)  # the true risk is recovered
    # Strictly monotone: the ranking (AUROC) is untouched.
    assert np.array_equal(np.argsort(risk, kind="stable"), np.argsort(p[held], kind="stable"))


def test_isotonic_is_stored_as_numbers_and_predicts_like_scikit_learn(weighted_scores):
    y, p, _ = weighted_scores
    calibrator = fit_calibrator(y, p, "isotonic")
    assert all(isinstance(v, float) for v in calibrator["x"] + calibrator["y"])
    assert 0 < min(calibrator["y"]) and max(calibrator["y"]) < 1  # never a risk of exactly 0 or 1
    reference = IsotonicRegression(y_min=1e-3, y_max=1 - 1e-3, out_of_bounds="clip").fit(p, y)
    grid = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(apply_calibration(calibrator, grid), reference.predict(grid), atol=1e-12)


def test_choice_is_documented_out_of_fold(weighted_scores):
    y, p, _ = weighted_scores
    calibrator, selection = choose_calibrator(y[:3000], p[:3000], groups=np.arange(3000) // 30)
    assert selection["chosen"] == calibrator["method"] == "platt"  # the true distortion is a Platt map
    scores = selection["out_of_fold"]
    assert scores["platt"]["brier"] < scores["uncalibrated"]["brier"]
    assert scores["platt"]["ece"] < scores["uncalibrated"]["ece"]


def test_too_few_validation_events_falls_back_to_the_class_weight_correction():
    y = np.array([0] * 20 + [1])
    p = np.linspace(0.1, 0.9, 21)
    calibrator, selection = choose_calibrator(y, p, class_weight=6.0)
    assert calibrator == {"method": "platt", "slope": 1.0, "intercept": pytest.approx(-np.log(6.0))}
    odds = p / (1 - p)
    np.testing.assert_allclose(apply_calibration(calibrator, p), (odds / 6) / (1 + odds / 6))
    assert "too few" in selection["reason"]
    assert choose_calibrator(y, p)[0] == {"method": "none"}
    np.testing.assert_array_equal(apply_calibration({"method": "none"}, p), p)


def test_ece_and_slope_by_hand():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    # bin 0.1: mean 0.1, observed 0.5 (|.4| x 2/4); bin 0.9: mean 0.9, observed 1 (|.1| x 2/4)
    assert ece(y, p, n_bins=10) == pytest.approx(0.25)
    rng = np.random.default_rng(1)
    risk = rng.uniform(0.02, 0.98, 20000)
    outcome = (rng.random(risk.size) < risk).astype(int)
    slope, intercept = calibration_slope_intercept(outcome, risk)
    assert slope == pytest.approx(1.0, abs=0.05) and intercept == pytest.approx(0.0, abs=0.05)


# ----------------------------------------------------------------------------------- alerts
def test_threshold_reaches_the_specificity_and_is_the_lowest_that_does():
    rng = np.random.default_rng(2)
    y = (rng.random(5000) < 0.1).astype(int)
    risk = np.round(rng.beta(2, 8, 5000) + 0.2 * y, 3)  # ties on purpose
    for target in (0.8, 0.9, 0.95):
        t = threshold_at_specificity(y, risk, target)
        assert alert_counts(y, risk, t)["specificity"] >= target
        lower = np.max(risk[(risk < t)])
        assert alert_counts(y, risk, lower)["specificity"] < target
        assert lower < t < np.min(risk[risk > lower])  # half-way between two risks seen


def test_alert_table_counts_workload_and_warning():
    # Two stays of 24 h: the septic one is labelled from hour 10 (onset at hour 16), its risk
    # crosses 0.5 at hour 7 and stays up; the other stay crosses twice for one hour each.
    septic = np.r_[np.zeros(10), np.ones(14)]
    quiet = np.zeros(24)
    septic_risk = np.r_[np.full(7, 0.1), np.full(17, 0.8)]
    quiet_risk = np.full(24, 0.1)
    quiet_risk[[3, 12]] = 0.6
    labels, risks = [septic, quiet], [septic_risk, quiet_risk]
    assert warning_hours(labels, risks, 0.5) == {"septic_stays": 1, "warned_before_onset": 1.0, "median_warning_hours": 9.0}
    assert alert_episodes(risks, 0.5) == 3
    y, r = np.concatenate(labels), np.concatenate(risks)
    hourly = {"val_labels": labels, "val_risks": risks, "test_labels": labels, "test_risks": risks}
    rows = alert_table(y, r, y, r, patient_days=2.0, specificities=(0.8,), hourly=hourly)  # both stays alert
    (row,) = rows
    assert row["alerts"] == int((r >= row["threshold"]).sum())
    assert row["alerts_per_100_patient_days"] == pytest.approx(100 * row["alerts"] / 2.0)
    assert row["alarm_episodes_per_100_patient_days"] == pytest.approx(100 * 3 / 2.0)
    assert row["median_warning_hours"] == 9.0


# -------------------------------------------------------------------------------- subgroups
def test_subgroup_rows_count_and_flag_small_groups():
    rng = np.random.default_rng(3)
    n = 600
    patients = [f"p{i}" for i in range(n)]
    age = pd.Series(rng.uniform(20, 95, n), index=patients)
    risk = rng.uniform(0.01, 0.6, n)
    label = (rng.random(n) < risk).astype(int)
    label[age.to_numpy() >= 80] = 0  # no deaths among the oldest: cannot be judged
    scored = pd.DataFrame({"patient_id": patients, "label": label, "risk": risk})
    rows = subgroup_table(scored, {"age_band": age.map(age_band)})
    assert [r["group"] for r in rows] == ["<50", "50-64", "65-79", "80+"]
    assert sum(r["patients"] for r in rows) == n
    oldest = rows[-1]
    assert oldest["positives"] == 0 and oldest["too_small"] and np.isnan(oldest["auroc"])
    for row in rows[:-1]:
        part = scored[age.map(age_band).reindex(scored["patient_id"]).to_numpy() == row["group"]]
        assert row["brier"] == pytest.approx(brier_score_loss(part["label"], part["risk"]))
        assert row["too_small"] == (min(row["positives"], row["negatives"]) < MIN_EVENTS)
