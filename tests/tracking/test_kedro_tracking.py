"""`kedro run` of a vitals task records one nested MLflow run with metrics, plots and a
registered champion, leaks no patient id anywhere, and the predict pipeline scores new files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from seqhealth.datasets.raw_input import read_raw_input
from seqhealth.tracking.summary import runs_summary
from tests.conftest import make_project_copy, run_kedro

TASK = "vitals_mortality"


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory) -> Path:
    project = make_project_copy(tmp_path_factory.mktemp("tracking") / "seqhealth")
    run_kedro(project, "--pipeline", TASK, "--params",
              f"{TASK}.train.max_epochs=1,{TASK}.model.hidden_size=8,train.enable_progress_bar=false")  # fmt: skip
    return project


def _uri(project: Path) -> str:
    return f"sqlite:///{project / 'mlflow.db'}"


@pytest.fixture
def project_store(trained_project):
    """The project's store as this process's tracking and registry URI (models:/ lookups)."""
    mlflow.set_tracking_uri(_uri(trained_project))
    mlflow.set_registry_uri(_uri(trained_project))
    yield _uri(trained_project)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_one_nested_run_per_task_with_metrics_plots_and_champion(trained_project):
    summary = runs_summary(_uri(trained_project))
    assert summary["task"].tolist() == [TASK]
    row = summary.iloc[0]
    assert row["status"] == "FINISHED" and row["parent_run_id"]
    assert row["n_epoch_steps"] == 1
    assert {"test.auroc", "test.auprc", "test.sens_at_90_spec"} <= set(row["test_metrics"])
    assert {"plots/roc.png", "plots/learning_curves.png"} <= {p.replace("_curve", "") for p in row["plots"]} or row["n_plots"] >= 3
    assert row["has_model"] and row["champion_version"] == 1 and row["champion_run_id"] == row["run_id"]
    client = MlflowClient(_uri(trained_project))
    run = client.get_run(row["run_id"])
    assert run.data.params[f"{TASK}.model.hidden_size"] == "8" and "train.seed" in run.data.params
    assert run.data.params["data.train.n"].isdigit()
    assert {"version.torch", "version.mlflow", "kedro.pipeline"} <= set(run.data.tags)
    parent = client.get_run(row["parent_run_id"])
    assert parent.info.status == "FINISHED"


def _id_pattern(ids: list[str]) -> re.Pattern:
    # Whole tokens only: "200003" inside "0.2000031" or a hex hash is not a patient id.
    return re.compile(rb"(?<![0-9A-Za-z.])(" + b"|".join(re.escape(i.encode()) for i in ids) + rb")(?![0-9A-Za-z])")


def test_no_patient_identifier_in_any_param_tag_metric_or_artifact(trained_project, project_store, tmp_path):
    raw = trained_project / "data" / "01_raw" / TASK
    ids = sorted(p.stem for p in raw.rglob("*.txt") if not p.name.startswith("Outcomes"))
    assert len(ids) > 100
    pattern = _id_pattern(ids)
    assert pattern.search(b"risk of 200003: high") or pattern.search(f"x {ids[0]} y".encode())  # the scan can fail

    client = MlflowClient(_uri(trained_project))
    experiment = client.get_experiment_by_name("seqhealth")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) >= 2  # kedro-mlflow's run(s) and the task's child run
    texts: dict[str, bytes] = {}
    for run in runs:
        for kind, mapping in (("param", run.data.params), ("tag", run.data.tags), ("metric", run.data.metrics)):
            for key, value in mapping.items():
                texts[f"{run.info.run_name}:{kind}:{key}"] = f"{key}={value}".encode()
        local = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / run.info.run_id)))
        for path in local.rglob("*"):
            if path.is_file():
                texts[f"{run.info.run_name}:artifact:{path.relative_to(local)}"] = path.read_bytes()
    version = client.get_model_version_by_alias(f"seqhealth-{TASK}", "champion")
    model_dir = Path(mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=str(tmp_path / "model")))
    model_files = [p for p in model_dir.rglob("*") if p.is_file()]
    assert any(p.name == "MLmodel" for p in model_files) and any(p.suffix == ".pkl" for p in model_files)
    for path in model_files:
        texts[f"model:{path.relative_to(model_dir)}"] = path.read_bytes()
    assert any(name.endswith(".png") for name in texts) and any("metrics.json" in name for name in texts)
    leaks = {name: pattern.search(data).group().decode() for name, data in texts.items() if pattern.search(data)}
    assert leaks == {}


def test_predict_pipeline_scores_new_files_without_outcomes(trained_project, project_store):
    new = trained_project / "data" / "01_raw" / "new_stays"
    patients = sorted(p for p in (trained_project / "data" / "01_raw" / TASK).rglob("*.txt") if not p.name.startswith("Outcomes"))[:5]
    new.mkdir()
    for path in patients:
        shutil.copy2(path, new / path.name)
    run_kedro(trained_project, "--pipeline", "predict", "--params", f"predict.task={TASK},predict.path={new}")
    predictions = pd.read_parquet(trained_project / "data" / "07_model_output" / TASK / "predictions.parquet")
    assert predictions["patient_id"].tolist() == [p.stem for p in patients]
    assert np.all((predictions["risk"] > 0) & (predictions["risk"] < 1))
    # Each row names the model that scored it.
    assert set(predictions["model_name"]) == {f"seqhealth-{TASK}"} and set(predictions["model_alias"]) == {"champion"}
    assert set(predictions["model_version"]) == {"1"}
    # The same answer as the champion pyfunc on the validated request built in-process.
    from seqhealth.pipelines.predict.nodes import prepare_request

    request, quarantine, _ = prepare_request(read_raw_input(TASK, new))
    # The demo stays hold a few bad observations on purpose: they are quarantined, their patients scored.
    assert len(quarantine) < len(request) and (quarantine["reason"].astype(str).str.len() > 0).all()
    expected = mlflow.pyfunc.load_model(f"models:/seqhealth-{TASK}@champion").predict(request)
    np.testing.assert_allclose(predictions["risk"], expected["risk"], atol=1e-6)


def test_raw_input_reads_unlabelled_psv(tmp_path):
    header = "HR|Temp|Age|Gender|ICULOS|SepsisLabel"
    (tmp_path / "p1.psv").write_text(f"{header}\n80|37|60|1|1|\n82|NaN|60|1|2|\n")
    (tmp_path / "p2.psv").write_text("HR|Temp|Age|Gender|ICULOS\n90|38|70|0|1\n")
    raw = read_raw_input("vitals_sepsis", tmp_path)
    assert raw["format"] == "physionet2019"
    assert raw["raw"]["SepsisLabel"].tolist() == ["0", "0", "0"]
    assert [f["patient_id"] for f in raw["raw"].attrs["files"]] == ["p1", "p2"]
    with pytest.raises(Exception, match="predict.task must be one of"):
        read_raw_input("nope", tmp_path)


def test_server_env_keeps_the_whole_tracking_config(monkeypatch):
    """Kedro replaces an env's top-level keys wholesale: `--env server` must not lose flattening."""
    from kedro.config import OmegaConfigLoader

    from seqhealth import settings

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    repo = Path(__file__).resolve().parents[2]
    config = OmegaConfigLoader(str(repo / "conf"), env="server", **settings.CONFIG_LOADER_ARGS)["mlflow"]
    assert config["server"]["mlflow_tracking_uri"] == "http://127.0.0.1:5999"
    assert config["tracking"]["params"]["dict_params"]["flatten"] is True
    assert config["tracking"]["experiment"]["name"] == "seqhealth"
    assert config["tracking"]["run"]["nested"] is True
