"""Fast checks of what the slow `kedro run` tests rely on: path redaction and orphan detection,
on real files, real processes and a real MLflow store."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from seqhealth.tracking.orphans import HOST_TAG, PID_TAG, START_TAG, mark_orphans, owner_tags
from seqhealth.tracking.redaction import WITHHELD, redact


def test_paths_become_content_fingerprints_never_names(tmp_path):
    export = tmp_path / "ward-export"
    export.mkdir()
    (export / "132545.txt").write_text("Time,Parameter,Value\n00:00,RecordID,132545\n")
    same_content = tmp_path / "132546.txt"
    same_content.write_text((export / "132545.txt").read_text())
    params = {
        "vitals_mortality": {"path": str(export / "132545.txt"), "split": {"train": 0.7}},
        "predict": {"path": str(export), "model_uri": "models:/seqhealth-vitals_mortality/3", "alias": "champion"},
        "tune": {"storage": "sqlite:////srv/optuna.db"},
        "gone": ["/data/132547.txt", "132548.psv"],
    }
    safe = redact(params)
    text = repr(safe)
    for patient in ("132545", "132546", "132547", "132548"):
        assert patient not in text
    # A file is known by its content (the same bytes under another name: the same fingerprint).
    assert safe["vitals_mortality"]["path"] == redact(str(same_content))
    assert safe["vitals_mortality"]["path"].startswith("fingerprint:")
    assert safe["predict"]["path"].startswith("fingerprint:")
    assert safe["gone"] == [WITHHELD, WITHHELD]
    # URIs and ordinary values are kept as they are.
    assert safe["predict"]["model_uri"] == params["predict"]["model_uri"]
    assert safe["tune"] == params["tune"] and safe["vitals_mortality"]["split"] == {"train": 0.7}


@pytest.fixture
def client(tmp_path) -> MlflowClient:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_runs_of_dead_processes_are_marked_killed_live_ones_are_not(client):
    experiment = client.create_experiment("hygiene")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = client.create_run(experiment, tags=owner_tags(dead.pid) | {START_TAG: "1"}).info.run_id
    alive = client.create_run(experiment, tags=owner_tags(os.getppid())).info.run_id
    recycled = client.create_run(experiment, tags={**owner_tags(os.getppid()), START_TAG: "1"}).info.run_id
    other_host = client.create_run(experiment, tags={PID_TAG: str(dead.pid), HOST_TAG: "another-host"}).info.run_id
    untagged = client.create_run(experiment).info.run_id

    marked = mark_orphans([experiment], client)
    assert set(marked) == {orphan, recycled}  # recycled: same pid, another process now
    status = {run_id: client.get_run(run_id).info.status for run_id in (orphan, alive, recycled, other_host, untagged)}
    assert status == {orphan: "KILLED", alive: "RUNNING", recycled: "KILLED", other_host: "RUNNING", untagged: "RUNNING"}
    assert f"owner process {dead.pid}" in client.get_run(orphan).data.tags["seqhealth.orphan_reason"]
