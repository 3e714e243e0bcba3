"""What the vitals tasks put in the bundle and in ``metrics.json`` after calibration: the
calibrator (plain numbers), the alert operating point, calibration before/after, alert and
subgroup reports, and the report tables the pipeline writes next to ``metrics.json``."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from seqhealth.engine.calibration import apply_calibration
from seqhealth.engine.fit import load_model, predict_samples
from seqhealth.pipelines.task_pipeline import report_tables
from seqhealth.serving.raw_inputs import DEFAULT_LIMITS
from seqhealth.tasks.registry import TASKS
from tests.tracking.conftest import long_request

VITALS = ["vitals_mortality", "vitals_sepsis"]


def _plain(value) -> bool:
    """Only numbers, strings, lists and dicts of them (no scikit-learn object in the bundle)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, int | float | str)


@pytest.mark.parametrize("task", VITALS)
def test_metrics_carry_calibrated_figures_and_reports(task, bundles, model_inputs):
    bundle, model_input = bundles[task], model_inputs[task]
    assert _plain(bundle["risk_calibration"]) and _plain(bundle["alert"])
    assert pickle.loads(pickle.dumps(bundle))["risk_calibration"] == bundle["risk_calibration"]
    metrics, predictions, figures = TASKS[task].evaluate(bundle, model_input, [])
    json.dumps(metrics, allow_nan=True)  # metrics.json can hold it
    label = predictions["label" if "label" in predictions else "sepsis_label"].to_numpy()
    risk = predictions["risk"].to_numpy(np.float64)
    test, calibration = metrics["test"], metrics["calibration"]
    # Headline test figures are those of the calibrated risks the predictions hold.
    assert test["brier"] == pytest.approx(brier_score_loss(label, risk), abs=1e-6)
    assert calibration["after"]["brier"] == pytest.approx(test["brier"])
    assert test["brier_skill"] == pytest.approx(1 - test["brier"] / metrics["baseline"]["brier"])
    for key in ("brier", "brier_skill", "ece", "calibration_slope", "calibration_intercept"):
        assert key in calibration["before"] and key in calibration["after"]
    raw = np.concatenate([np.atleast_1d(r) for r in predict_samples(bundle, model_input["splits"]["test"])])
    assert calibration["before"]["brier"] == pytest.approx(brier_score_loss(label, raw), abs=1e-6)
    np.testing.assert_allclose(risk, apply_calibration(bundle["risk_calibration"], raw), atol=1e-6)
    assert calibration["selection"]["chosen"]
    # Alert table: 80 / 90 / 95 % specificity on validation, thresholds rising.
    alerts = metrics["reports"]["alerts"]
    assert [row["target_specificity"] for row in alerts] == [0.8, 0.9, 0.95]
    assert np.all(np.diff([row["threshold"] for row in alerts]) >= 0)
    assert {"sensitivity", "ppv", "alerts_per_100_patient_days"} <= set(alerts[0])
    if task == "vitals_sepsis":
        assert {"median_warning_hours", "alarm_episodes_per_100_patient_days"} <= set(alerts[0])
    # Subgroups: every test patient once per variable, small groups flagged.
    subgroups = metrics["reports"]["subgroups"]
    n_patients = len(model_input["patients"]["test"])
    for variable in ("age_band", "sex", "icu_unit"):
        rows = [r for r in subgroups if r["variable"] == variable]
        assert sum(r["patients"] for r in rows) == n_patients, variable
        assert all(r["too_small"] == (min(r["positives"], r["negatives"]) < 10) for r in rows)
    assert {"reliability.png", "reliability_uncalibrated.png"} <= set(figures)
    # What a data team tries first, scored on the same test stays with the same figures.
    assert set(metrics["baselines"]) == {"summary_logreg", "summary_gbm"}
    for name, figures_of in metrics["baselines"].items():
        assert figures_of["description"], name
        # Undefined exactly where the model's is (a small test split with one class).
        assert np.isnan(figures_of["auroc"]) == np.isnan(test["auroc"] if test["auroc"] is not None else np.nan)
        assert 0.0 <= figures_of["brier"] <= 1.0, name
        assert figures_of["n"] == test["n"] and {"brier_skill", "ece"} <= set(figures_of), name
        if task == "vitals_sepsis":
            assert {"patient_auroc", "utility"} <= set(figures_of), name
    # The pipeline's report tables: one CSV per report.
    tables = report_tables(metrics)
    assert set(tables) == {"alerts", "subgroups"} and len(tables["alerts"]) == 3


def test_alert_operating_point_is_a_parameter_that_travels(bundles, model_inputs):
    """``samples.alert`` reaches the bundle through calibration; batch/served ``alert`` uses it."""
    task, model_input = TASKS["vitals_mortality"], model_inputs["vitals_mortality"]
    fixed = task.calibrate(bundles["vitals_mortality"], {**model_input, "alert": {"threshold": 0.2}})
    assert fixed["alert"]["threshold"] == 0.2
    patients = model_input["patients"]["test"]
    frame = long_request(model_input["clean_long"], patients)
    served = task.predict_request(load_model(fixed), fixed, frame, DEFAULT_LIMITS)
    assert served["alert"].tolist() == (served["risk"] >= 0.2).tolist()
    strict = task.calibrate(bundles["vitals_mortality"], {**model_input, "alert": {"specificity": 0.95}})
    val = model_input["splits"]["val"]
    val_y = np.asarray([int(s["y"]) for s in val])
    val_risk = np.concatenate([np.atleast_1d(r) for r in task.risks(strict, predict_samples(strict, val))])
    negatives = val_risk[val_y == 0]
    assert np.mean(negatives >= strict["alert"]["threshold"]) <= 0.05 + 1e-9
    assert strict["alert"]["specificity"] == 0.95
