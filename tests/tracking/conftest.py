"""Tiny trained bundles of the four tasks (demo data subsets, one epoch) and MLflow stores."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from seqhealth.genomics.demo import write_demo_dna
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.tasks.dna import (
    build_classify_model_input,
    build_coding_model_input,
    label_sequences,
)
from seqhealth.tasks.fit import fit_sequence_model
from seqhealth.tasks.vitals import build_mortality_model_input, build_sepsis_model_input
from seqhealth.vitals.demo import write_demo_vitals
from seqhealth.vitals.readers import read_2012_directory, read_2019_directory
from seqhealth.vitals.validation import validate_2012, validate_2019

TINY_MODEL = {"cell": "gru", "hidden_size": 8, "num_layers": 1, "dropout": 0.0, "head_pooling": "mean",
              "lr": 0.01, "weight_decay": 0.0, "lr_schedule": "none"}  # fmt: skip
N_PATIENTS = 40


def tiny_train(tmp: Path) -> dict:
    return {"max_epochs": 1, "batch_size": 16, "seed": 0, "accelerator": "cpu", "devices": 1,
            "enable_progress_bar": False, "checkpoint_dir": str(tmp / "ckpt"), "monitor": "val_loss",
            "monitor_mode": "min", "early_stopping_patience": 0}  # fmt: skip


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_raw")
    write_demo_dna(out, seed=0, n_classify=60)
    write_demo_vitals(out, seed=0)
    return out


def _first_patients(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    keep = sorted(frame["patient_id"].unique())[:n]
    return frame[frame["patient_id"].isin(keep)]


@pytest.fixture(scope="session")
def model_inputs(demo_raw) -> dict:
    """Model inputs of the four tasks, built by the task code itself (small subsets)."""
    coding_records, _, _ = validate_dna_records(read_sequence_records(demo_raw / "dna_coding"))
    coding_records = coding_records.head(1).copy()
    coding_records["tokens"] = [t[:12000] for t in coding_records["tokens"]]
    coding_records["length"] = [len(t) for t in coding_records["tokens"]]
    coding_records["cds_parts"] = [[p for p in cds if all(e <= 12000 for _, e, _ in p)] for cds in coding_records["cds_parts"]]
    coding = build_coding_model_input(
        coding_records, {"window": 300, "overlap": 30, "block_size": 1500, "split": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 0}
    )
    records, _, _ = validate_dna_records(read_sequence_records(demo_raw / "dna_classify" / "sequences.fasta"))
    table = pd.read_csv(demo_raw / "dna_classify" / "labels.tsv", sep="\t", dtype=str)
    labelled, _ = label_sequences(records, table, "id", "label")
    classify = build_classify_model_input(labelled, {"split": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 0, "max_length": 400})

    raw_2012 = read_2012_directory(demo_raw / "vitals_mortality")
    clean, labels, _, _ = validate_2012(raw_2012)
    clean, labels = _first_patients(clean, N_PATIENTS), _first_patients(labels, N_PATIENTS)
    # The task's configured encoding (hourly bins, value + step-gap channels), so serving must
    # repeat both from the logged preprocessing.
    mortality = build_mortality_model_input(clean, labels, {"max_hours": 48, "step_hours": 1, "channels": ["value", "step_gap"],
                                                            "split": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 0})
    mortality["clean_long"] = clean

    wide = read_2019_directory(demo_raw / "vitals_sepsis")
    clean_s, hourly, _, _ = validate_2019(wide)
    clean_s, hourly = _first_patients(clean_s, N_PATIENTS), _first_patients(hourly, N_PATIENTS)
    sepsis = build_sepsis_model_input(clean_s, hourly, {"max_hours": None, "split": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 0})
    sepsis["clean_long"] = clean_s
    return {"dna_coding": coding, "dna_classify": classify, "vitals_mortality": mortality, "vitals_sepsis": sepsis}


@pytest.fixture(scope="session")
def bundles(model_inputs, tmp_path_factory) -> dict:
    """One-epoch bundles: enough to check that predictions travel unchanged, not to be good."""
    tmp = tmp_path_factory.mktemp("bundles")
    out = {}
    for task, model_input in model_inputs.items():
        params = dict(TINY_MODEL, bidirectional=task != "vitals_sepsis")
        out[task] = fit_sequence_model(model_input, params, tiny_train(tmp))[0]
    return out


def long_request(clean_long: pd.DataFrame, patients: list[str]) -> pd.DataFrame:
    """The canonical table of ``patients`` as a raw request (time in hours, values as numbers)."""
    rows = clean_long[clean_long["patient_id"].isin(patients)]
    return pd.DataFrame({"patient_id": rows["patient_id"].astype(str), "time": rows["time_h"].astype(float),
                         "variable": rows["variable"], "value": rows["value"].astype(float)})  # fmt: skip


# ---------------------------------------------------------------------------- MLflow stores
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def venv_env(**extra) -> dict:
    import os

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


@pytest.fixture
def sqlite_tracking(tmp_path, monkeypatch) -> str:
    """An empty SQLite store as the process's tracking and registry URI."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("seqhealth-test")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def assert_same_frames(left: pd.DataFrame, right: pd.DataFrame, atol: float = 1e-5) -> None:
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column].to_numpy(), right[column].to_numpy()
        if np.issubdtype(a.dtype, np.number):
            np.testing.assert_allclose(a.astype(float), b.astype(float), atol=atol, err_msg=column)
        else:
            assert [str(x) for x in a] == [str(x) for x in b], column
