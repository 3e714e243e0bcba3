"""Real `kedro run` processes in one project folder (issue 15), on tiny dna_classify data:

* two training runs of one task started together: the second is refused (exit 75, a message
  naming the holder) and the registered version's model, run and data fingerprint agree;
* a run killed with SIGKILL stays RUNNING in MLflow until the next run marks it KILLED;
* that next run fails the training gate (one sequence of a class): a clear message, nothing logged as a
  model, the registry unchanged and no alias moved.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from seqhealth.tasks.registry import get_task
from tests.conftest import kedro_env, make_project_copy

pytestmark = pytest.mark.slow
TASK = "dna_classify"
N_SEQUENCES = 40


def _client(project: Path) -> MlflowClient:
    uri = f"sqlite:///{project / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    project = make_project_copy(tmp_path_factory.mktemp("gate_runs") / "seqhealth", demo_data=False)
    demo = project / "data" / "01_raw" / TASK
    get_task(TASK).write_demo(demo, seed=0)
    fasta = (demo / "sequences.fasta").read_text().split(">")[1 : N_SEQUENCES + 1]
    (project / "tiny.fasta").write_text("".join(">" + record for record in fasta))
    ids = [record.split(None, 1)[0] for record in fasta]
    # Three classes: the task's monitor (val_macro_f1) is a multiclass metric.
    classes = ["alpha", "beta", "gamma"]
    # Same sequences, different labels: the two runs' data fingerprints differ.
    (project / "labels_a.tsv").write_text("id\tlabel\n" + "".join(f"{i}\t{classes[k % 3]}\n" for k, i in enumerate(ids)))
    (project / "labels_b.tsv").write_text("id\tlabel\n" + "".join(f"{i}\t{classes[(k // 2) % 3]}\n" for k, i in enumerate(ids)))
    # One 'beta' and one 'gamma' sequence: each can be in one split only, so some split holds
    # one class.
    (project / "labels_one.tsv").write_text("id\tlabel\n" + "".join(f"{i}\t{classes[k] if k < 3 else 'alpha'}\n"
                                                                     for k, i in enumerate(ids)))
    # Two processes creating a brand-new SQLite store at once race in MLflow's schema migration
    # before any hook runs (see tests/retraining/test_retrain_kedro.py): a deployed project has one.
    _client(project).create_experiment("seqhealth", artifact_location=str(project / "mlartifacts"))
    return project


def _start(project: Path, labels: str, epochs: int = 1) -> subprocess.Popen:
    params = f"{TASK}.path=tiny.fasta,{TASK}.labels={labels},{TASK}.train.max_epochs={epochs},train.enable_progress_bar=false"
    return subprocess.Popen([sys.executable, "-m", "kedro", "run", "--pipeline", TASK, "--params", params],
                            cwd=project, env=kedro_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


def _versions(client: MlflowClient):
    return sorted(client.search_model_versions(f"name='seqhealth-{TASK}'"), key=lambda v: int(v.version))


def test_two_training_runs_at_once_the_second_is_refused_and_provenance_agrees(project):
    processes = [_start(project, "labels_a.tsv"), _start(project, "labels_b.tsv")]
    results = [(p.wait(timeout=900), p.stdout.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 75], "\n\n".join(out[-4000:] for _, out in results)
    refused = next(out for code, out in results if code == 75)
    assert f"another training run of {TASK} is running" in refused
    assert "nothing was trained" in refused and "held by" in refused

    client = _client(project)
    versions = _versions(client)
    assert len(versions) == 1  # the refused run registered nothing
    version = versions[0]
    run = client.get_run(version.run_id)
    # The model the registry serves (its artifact folder in the project's local artifact store).
    model = Path(client.get_model_version_download_uri(version.name, version.version).removeprefix("file://"))
    bundle = pickle.loads(next(model.rglob("bundle.pkl")).read_bytes())
    fingerprint = bundle["data_fingerprint"]["sha256"]
    assert version.tags["data_fingerprint"] == fingerprint == run.data.tags["seqhealth.data_fingerprint"]
    # ... and it is the fingerprint of the data the successful run itself wrote.
    local = pickle.loads((project / "data" / "05_model_input" / TASK / "model_input.pkl").read_bytes())
    assert local["fingerprint"]["sha256"] == fingerprint
    # The refused run opened no MLflow run: one kedro-mlflow parent + one task run in all.
    assert len(client.search_runs([run.info.experiment_id])) == 2


def _running_task_run(client: MlflowClient, experiment_id: str, pid: int):
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        if run.data.tags.get("seqhealth.pid") == str(pid) and run.data.tags.get("seqhealth.task") == TASK:
            return run
    return None


def test_killed_run_is_marked_killed_by_the_next_which_fails_the_gate_without_registering(project):
    client = _client(project)
    experiment_id = client.get_experiment_by_name("seqhealth").experiment_id
    before = [(v.version, v.run_id) for v in _versions(client)]
    aliases_before = dict(client.get_registered_model(f"seqhealth-{TASK}").aliases)

    victim = _start(project, "labels_a.tsv", epochs=500)
    deadline = time.monotonic() + 600
    while (orphan := _running_task_run(client, experiment_id, victim.pid)) is None:
        assert victim.poll() is None, victim.stdout.read()[-4000:]
        assert time.monotonic() < deadline, "the run never opened its MLflow task run"
        time.sleep(1)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    orphan_ids = {orphan.info.run_id, orphan.data.tags["mlflow.parentRunId"]}
    assert {client.get_run(r).info.status for r in orphan_ids} == {"RUNNING"}  # what issue 15 saw

    gated = _start(project, "labels_one.tsv")
    code, out = gated.wait(timeout=900), gated.stdout.read()
    assert code != 0, out[-4000:]
    assert f"{TASK}: the data cannot support a model, nothing was trained or registered" in out
    assert "classes present, needs at least 2" in out
    # The orphans are closed, with the reason.
    for run_id in orphan_ids:
        run = client.get_run(run_id)
        assert run.info.status == "KILLED"
        assert f"owner process {victim.pid}" in run.data.tags["seqhealth.orphan_reason"]
    # Nothing registered, no alias moved, no model logged by the gated run.
    assert [(v.version, v.run_id) for v in _versions(client)] == before
    assert dict(client.get_registered_model(f"seqhealth-{TASK}").aliases) == aliases_before
    gated_runs = [r for r in client.search_runs([experiment_id]) if r.info.run_id not in orphan_ids
                  and r.info.run_id not in {rid for _, rid in before} and r.info.status != "FINISHED"]  # fmt: skip
    assert gated_runs, "the gated run left no failed run"
    for run in gated_runs:
        assert not client.list_artifacts(run.info.run_id, "model")
