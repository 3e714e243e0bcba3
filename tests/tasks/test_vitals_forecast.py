"""vitals_forecast: next-hour vitals as calibrated intervals; values outside them are flagged.

Runs the task's pipeline in-process on its demo data (PhysioNet 2019 format) and its served
pyfunc on a real MLflow store."""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
import pandas as pd
import pytest

from seqhealth.engine.fit import load_model, predict_samples
from seqhealth.serving.pyfunc import log_pyfunc
from seqhealth.tasks.vitals_forecast import TARGETS, TASK, _baselines, _next_hour_targets
from tests.helpers.in_process import assert_evaluated, run_task_slice


def test_targets_are_the_change_to_the_next_hours_value():
    values = np.full((4, len(TASK.variables)), np.nan, dtype=np.float32)
    hr = TASK.variables.index("HR")
    values[:, hr] = [80, np.nan, 90, 100]
    stats = {"variables": list(TASK.variables), "mean": np.full(len(TASK.variables), 80, np.float32),
             "std": np.full(len(TASK.variables), 10, np.float32)}  # fmt: skip
    targets = _next_hour_targets({"values": values}, stats)
    k = TARGETS.index("HR")
    # t -> change from the last value known at t (80 at t=0 and t=1, 90 at t=2) to the value at
    # t+1, in standard deviations; the last step has no next hour.
    np.testing.assert_allclose(targets[:, k], [np.nan, 1.0, 1.0, np.nan])
    assert np.isnan(targets[:, TARGETS.index("MAP")]).all()


def test_baselines_carry_forward_and_average_the_last_three_observations():
    values = np.array([[np.nan], [10.0], [np.nan], [20.0], [30.0], [40.0]])
    locf, moving = _baselines(values)
    np.testing.assert_allclose(locf[:, 0], [np.nan, 10, 10, 20, 30, 40])
    np.testing.assert_allclose(moving[:, 0], [np.nan, 10, 10, 15, 20, 30])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The task's pipeline slice up to evaluation, with its configured model, a few epochs."""
    load = run_task_slice(TASK.name, tmp_path_factory.mktemp("forecast"), model={}, max_epochs=4)
    return load


@pytest.mark.slow
def test_forecasts_beat_last_value_carried_forward_with_calibrated_intervals(trained):
    assert_evaluated(TASK.name, trained)
    metrics = trained("metrics")
    test, locf = metrics["test"], metrics["baseline"]["locf"]
    assert test["mae_z"] < locf["mae_z"], (test["mae_z"], locf["mae_z"])
    # Intervals are widened/narrowed on validation patients to 90 %: test patients land near it.
    assert 0.85 <= test["coverage"] <= 0.95, test["coverage"]
    assert metrics["baseline"]["moving_average_3"]["mae_z"] > 0
    assert {"flags_per_patient_day", "flag_rate_pre_sepsis", "flag_rate_other_hours"} <= set(test)
    assert len(trained("model")["calibration"]["interval_z"]) == len(TARGETS)


@pytest.mark.slow
def test_served_model_flags_values_outside_the_interval_and_stays_causal(trained, tmp_path):
    bundle, model_input = trained("model"), trained("model_input")
    clean = trained("observations")
    patient = model_input["patients"]["test"][0]
    rows = clean[clean["patient_id"] == patient]
    request = pd.DataFrame({"patient_id": patient, "time": rows["time_h"].astype(float), "variable": rows["variable"],
                            "value": rows["value"].astype(float)})  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # A store of its own: the fluent API may still hold an earlier test's experiment id.
    experiment = mlflow.create_experiment("forecast-serving", artifact_location=str(tmp_path / "mlartifacts"))
    try:
        with mlflow.start_run(experiment_id=experiment):
            info = log_pyfunc(bundle)
        served = mlflow.pyfunc.load_model(info.model_uri).predict(request)
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        os.environ.pop("MLFLOW_REGISTRY_URI", None)
    assert list(served.columns) == [name for _, name in TASK.response_columns(bundle)]
    # The forecast for the next hour is the model's output in the vitals' units.
    sample = model_input["splits"]["test"][0]
    expected, half = TASK._denormalise(bundle, predict_samples(bundle, [sample])[0], sample["x"])
    hr = served[served["variable"] == "HR"]
    np.testing.assert_allclose(hr["next_expected"], expected[:, TARGETS.index("HR")], rtol=1e-5)
    # A value is irregular exactly when it falls outside the interval forecast an hour before.
    checked = served.dropna(subset=["observed", "expected"])
    outside = (checked["observed"] < checked["lower"]) | (checked["observed"] > checked["upper"])
    assert (checked["irregular"] == outside).all() and len(checked) > 0
    # Causal: the forecasts of the first hours do not change when later hours are sent too.
    first = request[request["time"] <= request["time"].min() + 5]
    early = TASK.predict_request(load_model(bundle), bundle, first, {})
    later = served[served["time"].isin(early["time"])]
    np.testing.assert_allclose(early["next_expected"].to_numpy(), later["next_expected"].to_numpy(), rtol=1e-5)


@pytest.mark.slow
def test_default_run_forecasts_beat_carrying_the_last_value_forward(default_run):
    metrics = json.loads((default_run / "data" / "08_reporting" / TASK.name / "metrics.json").read_text())
    assert metrics["test"]["mae_z"] < metrics["baseline"]["locf"]["mae_z"], metrics
    assert 0.85 <= metrics["test"]["coverage"] <= 0.95, metrics["test"]["coverage"]
