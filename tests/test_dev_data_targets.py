"""Issue 17 on the large development samples (opt-in: ``pytest -m dev_data``; not in CI).

- ``vitals_sepsis`` on ``physionet2019_sepsis_large`` (5,771 stays), the pipeline's own 70/15/15
  patient split: calibrated hourly risks (Brier skill > 0 against the prevalence), the
  discrimination and utility measured on its held-out patients, and the report tables;
- ``vitals_mortality`` on ``physionet2012_set_a`` (4,000 stays): 5-fold cross-validation, each
  fold calibrated on its own validation stays (``cross_validate_mortality``), with the input
  channels chosen on set A's folds: mean fold AUROC and the pooled out-of-fold calibration
  (ECE <= 0.05, Brier skill > 0).

The floors are the figures measured with the default parameters (README, "Calibration, alerts and
subgroups"), rounded down by about one standard error; the issue's targets that are NOT reached
are stated in the README, not asserted. 6.5 minutes in all on 2 CPU cores (measured 2026-12-07).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from seqhealth.engine.fit import resolve_train_config
from seqhealth.tasks.vitals_mortality import cross_validate_mortality
from tests.conftest import make_project_copy, run_kedro

pytestmark = [pytest.mark.dev_data, pytest.mark.shared_data, pytest.mark.slow]
# Chosen on set A's folds (fold seed 0): the GRU-D style observed-mask and hours-since-seen
# channels (hurt on the 400-stay sample, hence not the default there) 0.836 vs 0.821 with the
# default channels; with rank-based scaling of the values as well 0.841 (folds 0.821-0.861). The
# issue's 0.86 is NOT reached; gradient boosting on per-stay statistics reaches 0.854 on the same
# folds (README).
SET_A_SAMPLES = {"channels": ["value", "observed", "hours_since_seen", "step_gap"], "normalisation": "quantile"}
MORTALITY_CV_FLOOR = 0.83


def _task_params(project, task: str) -> tuple[dict, dict]:
    base = project / "conf" / "base"
    params = yaml.safe_load((base / f"parameters_{task}.yml").read_text())[task]
    return params, yaml.safe_load((base / "parameters_train.yml").read_text())["train"]


def test_sepsis_large_sample_calibrated_on_held_out_patients(tmp_path, shared_data):
    project = make_project_copy(tmp_path / "seqhealth", demo_data=False)
    stays = shared_data / "physionet2019_sepsis_large" / "training_setB"
    run_kedro(project, "--pipeline", "vitals_sepsis", "--params",
              f"vitals_sepsis.path={stays},train.enable_progress_bar=false", timeout=3600)  # fmt: skip
    reporting = project / "data" / "08_reporting" / "vitals_sepsis"
    metrics = json.loads((reporting / "metrics.json").read_text())
    test, baseline = metrics["test"], metrics["baseline"]
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 5771
    # Calibrated: better than the prevalence, raw (class-weighted) output far worse.
    assert test["brier"] < baseline["brier"] and test["brier_skill"] > 0
    assert metrics["calibration"]["before"]["brier_skill"] < 0
    assert test["ece"] <= 0.01
    # Discrimination and utility on the held-out patients (default parameters, split seed 42).
    assert test["auroc"] >= 0.75 and test["patient_auroc"] >= 0.75, test
    assert test["utility"] >= 0.22, test
    # The data team's baselines on the same split (README): gradient boosting on running per-stay
    # statistics is the stronger early warning here (measured 0.855 / 0.871 / 0.440).
    gbm = metrics["baselines"]["summary_gbm"]
    assert gbm["auroc"] >= 0.83 and gbm["patient_auroc"] >= 0.84 and gbm["utility"] >= 0.38, gbm
    assert gbm["brier_skill"] > 0 and metrics["baselines"]["summary_logreg"]["brier_skill"] > 0  # calibrated too
    alerts = pd.read_csv(reporting / "alerts.csv")
    assert alerts["target_specificity"].tolist() == [0.8, 0.9, 0.95]
    assert (alerts["median_warning_hours"] > 0).all()
    subgroups = pd.read_csv(reporting / "subgroups.csv")
    assert set(subgroups["variable"]) == {"age_band", "sex", "icu_unit"}


def test_mortality_set_a_cross_validated_and_calibrated(tmp_path, shared_data):
    project = make_project_copy(tmp_path / "seqhealth", demo_data=False)
    from seqhealth.tasks.vitals_mortality import TASK

    params, shared_train = _task_params(project, "vitals_mortality")
    ingested = TASK.ingest(TASK.read_raw(shared_data / "physionet2012_set_a"), params)
    train_cfg = {**resolve_train_config(shared_train, params.get("train")),
                 "checkpoint_dir": str(tmp_path / "cv_checkpoints"), "enable_progress_bar": False}  # fmt: skip
    samples = {**params["samples"], **SET_A_SAMPLES}
    result = cross_validate_mortality(ingested["observations"], ingested["labels"], samples, params["model"],
                                      train_cfg, folds=5, seed=0)  # fmt: skip
    assert len(result["out_of_fold"]) == 3997 and result["out_of_fold"]["patient_id"].is_unique  # 3 stays quarantined
    assert result["mean_auroc"] >= MORTALITY_CV_FLOOR, result["fold_auroc"]
    # The baselines quoted beside it, on the same folds and inputs (measured: GBM 0.854, logistic 0.839).
    assert result["baseline_mean_auroc"]["summary_gbm"] >= 0.84, result["baseline_mean_auroc"]
    assert result["baseline_mean_auroc"]["summary_logreg"] >= 0.82, result["baseline_mean_auroc"]
    calibration = result["calibration"]
    assert calibration["brier_skill"] > 0.15, calibration
    assert calibration["ece"] <= 0.05, calibration

