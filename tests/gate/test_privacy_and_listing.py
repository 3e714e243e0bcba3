"""Issue 15, with real `kedro run`s of vitals_mortality in a project copy whose PhysioNet 2012
files are named by the patients' RecordIDs (as PhysioNet's are):

* train, predict (one patient's file, then a folder) and retrain leave none of those ids in the
  MLflow database (the SQLite file's bytes) or its artifact store;
* a patient charted only after hour 48 is listed with a reason by ``predict`` (quarantine) and
  by the served model (a row with a null risk and a ``reason``), never silently missing.
"""

from __future__ import annotations

import re
import shutil

import mlflow
import pandas as pd
import pytest

from tests.conftest import make_project_copy, run_kedro
from tests.retraining.helpers import add_mortality_partition

pytestmark = pytest.mark.slow
TASK = "vitals_mortality"
FIRST_ID = 731_000  # RecordIDs 731000.. (file names 731000.txt ..)
LATE_ID = "739917"  # charted only after hour 48, no hour-0 descriptors
FAST = f"{TASK}.train.max_epochs=1,train.enable_progress_bar=false"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    project = make_project_copy(tmp_path_factory.mktemp("privacy") / "seqhealth", demo_data=False)
    raw = project / "data" / "01_raw" / TASK
    ids = add_mortality_partition(raw, "2026-01-01", n_patients=120, seed=3, first_id=FIRST_ID)
    outside = project.parent / "incoming"  # files to score, outside the project as a ward export is
    single = outside / "single"
    ward = outside / "ward"
    for folder in (single, ward):
        folder.mkdir(parents=True)
    shutil.copy(raw / "2026-01-01" / f"{ids[5]}.txt", single / f"{ids[5]}.txt")
    shutil.copy(raw / "2026-01-01" / f"{ids[6]}.txt", ward / f"{ids[6]}.txt")
    (ward / f"{LATE_ID}.txt").write_text("Time,Parameter,Value\n49:00,HR,80\n50:10,HR,85\n51:00,Temp,37.1\n")

    run_kedro(project, "--pipeline", TASK, "--params", f"{TASK}.path={raw / '2026-01-01'},{FAST}")
    run_kedro(project, "--pipeline", "predict", "--params", f"predict.task={TASK},predict.path={single / f'{ids[5]}.txt'}")
    single_predictions = pd.read_parquet(project / "data" / "07_model_output" / TASK / "predictions.parquet")
    run_kedro(project, "--pipeline", "predict", "--params", f"predict.task={TASK},predict.path={ward}")
    run_kedro(project, "--pipeline", "retrain", "--params", f"retrain.task={TASK},retrain.force=true,{FAST}")
    return {"project": project, "ids": [*ids, LATE_ID], "scored": ids[6], "single": ids[5],
            "single_predictions": single_predictions}  # fmt: skip


def _occurrences(data: bytes, patient_ids: list[str]) -> set[str]:
    # An id counts when it stands alone (not inside a longer number, hex run id or hash).
    return {pid for pid in patient_ids if re.search(rb"(?<![0-9A-Za-z])" + pid.encode() + rb"(?![0-9A-Za-z])", data)}


def test_no_patient_id_in_the_mlflow_database_or_artifacts(runs):
    project, ids = runs["project"], runs["ids"]
    database = (project / "mlflow.db").read_bytes()
    assert _occurrences(database, ids) == set()
    artifacts = [p for p in (project / "mlartifacts").rglob("*") if p.is_file()]
    assert artifacts  # models, plots and reports were logged
    leaking = {str(p.relative_to(project)): found for p in artifacts if (found := _occurrences(p.read_bytes(), ids))}
    assert leaking == {}
    # The input paths are there as fingerprints (train, predict, retrain alike).
    assert b"fingerprint:" in database


def test_every_patient_of_a_predict_request_is_scored_or_listed(runs):
    project = runs["project"]
    assert list(runs["single_predictions"]["patient_id"].astype(str)) == [runs["single"]]
    predictions = pd.read_parquet(project / "data" / "07_model_output" / TASK / "predictions.parquet")
    quarantine = pd.read_csv(project / "data" / "08_reporting" / "predict" / TASK / "quarantine.csv", dtype=str)
    assert set(predictions["patient_id"].astype(str)) == {runs["scored"]}
    late = quarantine[quarantine["record_id"] == LATE_ID]
    assert len(late) == 1 and "no valid time-series observation" in late["reason"].iloc[0]
    assert (quarantine["record_id"].str.startswith(f"{LATE_ID}/")).any()  # its rows, each with the 48 h bound
    assert "beyond the 48 h bound" in " ".join(quarantine["reason"])


def test_served_model_lists_an_unscorable_patient_with_a_reason(runs, monkeypatch):
    project = runs["project"]
    uri = f"sqlite:///{project / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)  # set_registry_uri writes it: restored after the test
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/seqhealth-{TASK}@champion")
    request = pd.DataFrame({
        "patient_id": ["A1", "A1", "A1", LATE_ID, LATE_ID],
        "time": [1.0, 2.0, 3.0, 49.0, 50.5],
        "variable": ["HR", "HR", "MAP", "HR", "HR"],
        "value": [80.0, 84.0, 75.0, 90.0, 92.0],
    })  # fmt: skip
    out = model.predict(request)
    assert list(out["patient_id"]) == ["A1", LATE_ID]
    assert out["risk"].notna().tolist() == [True, False]
    assert out["reason"].isna().tolist() == [True, False]
    assert "time window" in out["reason"].iloc[1]
    # A fully scored request keeps the model's documented columns.
    assert list(model.predict(request[request["patient_id"] == "A1"]).columns) == ["patient_id", "risk", "alert"]
