"""Must show 2 and 3 with real `kedro run --pipeline retrain` subprocesses in a project copy.

2. Two retrains started at once: exactly one trains and promotes, the other exits 75.
3. A new dated partition: the next retrain ingests it (more train/val patients) while the
   frozen evaluation patients stay exactly the same.
And: unchanged data -> decision "skipped", nothing trained, exit 0.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from tests.conftest import kedro_env, make_project_copy
from tests.retraining.helpers import add_mortality_partition

TASK = "vitals_mortality"
RUN_ARGS = (
    "run", "--pipeline", "retrain", "--params",
    f"retrain.task={TASK},{TASK}.train.max_epochs=1,train.enable_progress_bar=false",
)  # fmt: skip


def _start(project):
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", *RUN_ARGS], cwd=project, env=kedro_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _finish(process, timeout=900) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def _read(project, relative: str) -> dict:
    return json.loads((project / relative).read_text())


def _registry(project) -> MlflowClient:
    uri = f"sqlite:///{project / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = make_project_copy(tmp_path_factory.mktemp("retrain") / "seqhealth")
    # A deployed project already has its MLflow store (the tasks were trained before any
    # scheduled retrain). Two processes creating a brand-new SQLite store at the same moment
    # race in MLflow's schema migration, before any Kedro hook runs: not what is tested here.
    _registry(project).create_experiment("seqhealth", artifact_location=str(project / "mlartifacts"))
    return project


@pytest.fixture(scope="module")
def concurrent_runs(project):
    processes = [_start(project), _start(project)]
    results = [_finish(p) for p in processes]
    return {
        "results": results,
        "decision": _read(project, f"data/08_reporting/{TASK}/retrain_decision.json"),
        "report": _read(project, f"data/08_reporting/{TASK}/retrain_ingest_report.json"),
        "frozen": _read(project, f"data/05_model_input/{TASK}/frozen_eval.json"),
    }


@pytest.fixture(scope="module")
def after_new_partition(project, concurrent_runs):
    new_ids = add_mortality_partition(project / "data" / "01_raw" / TASK, "2026-02-01", n_patients=40, seed=11, first_id=300001)
    code, log = _finish(_start(project))
    assert code == 0, log[-5000:]
    return {
        "new_ids": new_ids,
        "decision": _read(project, f"data/08_reporting/{TASK}/retrain_decision.json"),
        "report": _read(project, f"data/08_reporting/{TASK}/retrain_ingest_report.json"),
        "frozen": _read(project, f"data/05_model_input/{TASK}/frozen_eval.json"),
    }


def test_two_runs_at_once_exactly_one_trains_and_promotes(project, concurrent_runs):
    codes = sorted(code for code, _ in concurrent_runs["results"])
    logs = "\n---\n".join(log[-3000:] for _, log in concurrent_runs["results"])
    assert codes == [0, 75], logs
    loser_log = next(log for code, log in concurrent_runs["results"] if code == 75)
    assert f"another retrain of {TASK} is running" in loser_log and "EX_TEMPFAIL" in loser_log
    assert "Running node" not in loser_log  # it stopped before any node ran
    decision = concurrent_runs["decision"]
    assert decision["decision"] == "promoted" and "first model" in decision["reason"]
    client = _registry(project)
    versions = client.search_model_versions(f"name='seqhealth-{TASK}'")
    assert [int(v.version) for v in versions] == [1]
    assert str(client.get_model_version_by_alias(f"seqhealth-{TASK}", "champion").version) == "1"
    # The loser opened no MLflow run: one run in the project's experiment.
    experiment = client.get_experiment_by_name("seqhealth")
    assert len(client.search_runs([experiment.experiment_id])) == 1


def test_new_partition_is_ingested_and_evaluation_set_is_unchanged(concurrent_runs, after_new_partition):
    before, after = concurrent_runs["report"], after_new_partition["report"]
    new = len(after_new_partition["new_ids"])
    assert after["n_train"] + after["n_val"] == before["n_train"] + before["n_val"] + new
    assert after["n_test"] == before["n_test"]
    assert after_new_partition["frozen"]["groups"] == concurrent_runs["frozen"]["groups"]
    assert after_new_partition["frozen"]["frozen_at"] == concurrent_runs["frozen"]["frozen_at"]
    assert after_new_partition["frozen"]["missing_now"] == []
    assert not set(after_new_partition["new_ids"]) & set(after_new_partition["frozen"]["groups"])
    decision = after_new_partition["decision"]
    assert decision["decision"] in ("promoted", "kept")
    assert decision["data_state"]["n_files"] == concurrent_runs["decision"]["data_state"]["n_files"] + new + 1
    assert decision["data_state"]["partitions"]["2026-02-01"] == new + 1
    # Same frozen patients for both models.
    assert decision["champion"]["test"]["n"] == decision["challenger"]["test"]["n"] == before["n_test"]


def test_unchanged_data_is_skipped(project, after_new_partition):
    code, log = _finish(_start(project))
    assert code == 0, log[-5000:]
    decision = _read(project, f"data/08_reporting/{TASK}/retrain_decision.json")
    assert decision["decision"] == "skipped" and "no new data" in decision["reason"]
    assert decision["challenger"] is None
    assert decision["data_state"]["fingerprint"] == after_new_partition["decision"]["data_state"]["fingerprint"]
    assert "Trainer.fit" not in log
    client = _registry(project)
    assert len(client.search_model_versions(f"name='seqhealth-{TASK}'")) == 2
