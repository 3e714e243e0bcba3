"""`kedro run --pipeline tune` end to end in a copy of the project, on demo data (minutes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from seqhealth.tuning.study import make_storage

from .conftest import REPO

pytestmark = pytest.mark.slow


def _kedro(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(KEDRO_DISABLE_TELEMETRY="true")
    return subprocess.run([sys.executable, "-m", "kedro", "run", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """src/ is copied (Kedro refuses a symlinked source dir); conf/local stays empty."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "seqhealth.demo_data", "--out", str(root / "data/01_raw")], check=True,
                   capture_output=True)
    return root


def test_missing_model_input_says_which_pipeline_to_run(project):
    result = _kedro(project, "--pipeline", "tune", "--params", "tune.task=vitals_sepsis,tune.n_trials=1")
    assert result.returncode != 0
    assert "kedro run --pipeline vitals_sepsis" in result.stdout + result.stderr


def test_tune_vitals_mortality_prunes_logs_every_trial_and_registers_the_best(project):
    built = _kedro(project, "--pipeline", "vitals_mortality", "--params", "vitals_mortality.train.max_epochs=1")
    assert built.returncode == 0, built.stderr[-3000:]
    result = _kedro(project, "--pipeline", "tune", "--params", "tune.task=vitals_mortality,tune.n_trials=6")
    assert result.returncode == 0, result.stderr[-3000:]

    report = project / "data/08_reporting/tune/vitals_mortality"
    summary = json.loads((report / "study_summary.json").read_text())
    counts = summary["counts"]
    assert counts["complete"] + counts["pruned"] == 6 and counts["pruned"] >= 1, counts
    best = yaml.safe_load((report / "best_params.yml").read_text())
    assert best["best_trial"] == summary["best_trial"] and best["params"] == summary["best_params"]
    study = optuna.load_study(study_name=summary["study_name"], storage=make_storage(f"sqlite:///{project / 'optuna.db'}"))
    assert study.best_trial.number == best["best_trial"]

    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("seqhealth")
    tune_run = client.search_runs([experiment.experiment_id], filter_string="attributes.run_name = 'tune'")[0]
    trial_runs = client.search_runs([experiment.experiment_id],
                                    filter_string=f"tags.mlflow.parentRunId = '{tune_run.info.run_id}'")
    states = sorted(r.data.tags["optuna.state"] for r in trial_runs)
    assert states == sorted(t.state.name.lower() for t in study.trials)
    artifacts = {a.path for folder in ("tune", "tune/plots") for a in client.list_artifacts(tune_run.info.run_id, folder)}
    assert {"tune/best_params.yml", "tune/plots/optimization_history.png", "tune/plots/param_importances.png",
            "tune/plots/parallel_coordinate.png"} <= artifacts

    registration = json.loads((report / "registration.json").read_text())
    version = client.get_model_version("seqhealth-vitals_mortality", str(registration["version"]))
    assert "challenger" in registration["aliases"] and version.run_id == tune_run.info.run_id
    assert client.get_model_version_by_alias("seqhealth-vitals_mortality", "challenger").version == version.version
    metrics = json.loads((report / "best_metrics.json").read_text())
    assert metrics["tuning"]["best_trial"] == best["best_trial"] and metrics["test"]["auroc"] is not None

    # a rerun with the same total does not train a single trial more
    again = _kedro(project, "--pipeline", "tune", "--params", "tune.task=vitals_mortality,tune.n_trials=6")
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(study.get_trials()) == 6
