"""Every registered task's pipeline, built from the registry and run in-process (Kedro runner):
the ingestion + features slice on the task's demo data. The train -> calibrate -> evaluate slice
runs in-process in the task's own tests (tests/tasks/) and end to end in the default run."""

from __future__ import annotations

import pytest

from seqhealth.tasks.registry import TASK_NAMES
from tests.helpers.in_process import run_task_slice


@pytest.mark.parametrize("name", TASK_NAMES)
def test_ingestion_and_features_slice_runs_in_process(name, tmp_path):
    load = run_task_slice(name, tmp_path, tags=("ingestion", "features"))
    report, quarantine = load("ingest_report"), load("quarantine")
    assert report["records_in"] == report["records_kept"] + report["records_quarantined"]
    assert report["records_quarantined"] <= len(quarantine)
    model_input = load("model_input")
    assert model_input["task"] == name
    assert all(len(model_input["splits"][part]) > 0 for part in ("train", "val", "test"))
    assert model_input["fingerprint"]["sha256"]


