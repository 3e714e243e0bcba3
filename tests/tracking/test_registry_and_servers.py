"""Registry aliases, a real `mlflow server` (SQLite, and PostgreSQL when reachable) and
`mlflow models serve` answering raw DNA and raw vitals over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from seqhealth.genomics.alphabet import decode
from seqhealth.tracking.registry import champion_metrics, champion_uri, log_and_register, promote
from tests.tracking.conftest import (
    assert_same_frames,
    free_port,
    long_request,
    venv_env,
    wait_for_http,
)

METRICS = {"task": "x", "test": {"macro_f1": 0.61, "accuracy": 0.7}, "baseline": {"macro_f1": 0.2}, "threshold": 0.5}
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def _dna_request(model_inputs, n=6) -> pd.DataFrame:
    test = model_inputs["dna_classify"]["splits"]["test"][:n]
    return pd.DataFrame({"id": [f"q{i}" for i in range(len(test))], "sequence": [decode(s["x"]) for s in test]})


def test_aliases_first_version_is_champion_then_explicit_promotion(bundles, sqlite_tracking):
    bundle = bundles["dna_classify"]
    first = log_and_register(bundle, METRICS, "dna_classify")
    second = log_and_register(bundle, {**METRICS, "test": {"macro_f1": 0.9}}, "dna_classify")
    assert (first["version"], first["aliases"]) == (1, ["challenger", "champion"])
    assert (second["version"], second["aliases"]) == (2, ["challenger"])
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("seqhealth-dna_classify", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("seqhealth-dna_classify", "challenger").version) == "2"
    assert champion_metrics("dna_classify")["test"] == {"macro_f1": 0.61, "accuracy": 0.7}
    assert promote("dna_classify", 2) == {"task": "dna_classify", "previous": 1, "champion": 2}
    assert champion_metrics("dna_classify") == {"version": 2, "run_id": second["run_id"], "test": {"macro_f1": 0.9}, "baseline": {"macro_f1": 0.2}}
    assert json.loads(json.dumps(second)) == second  # the registration node saves it as JSON
    assert champion_metrics("vitals_sepsis") is None


# ----------------------------------------------------------------------- mlflow server
def _start(command: list[str], port: int, health: str, **env) -> subprocess.Popen:
    # Own process group: `mlflow server`/`models serve` start workers that must die with it.
    process = subprocess.Popen(command, env=venv_env(**env), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}{health}", process)
    except Exception:
        _stop(process)
        raise
    return process


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _postgres_database():
    """A fresh database on the local PostgreSQL, dropped afterwards; skip when unreachable."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(f"{POSTGRES}/postgres", connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES}: {error}")
    admin.autocommit = True
    name = f"seqhealth_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    return admin, name


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_tracking_server_round_trip_by_alias(backend, bundles, model_inputs, tmp_path, monkeypatch):
    admin = None
    if backend == "postgresql":
        admin, database = _postgres_database()
        store = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"  # SQLAlchemy 2.1 defaults to psycopg 3
    else:
        store = f"sqlite:///{tmp_path / 'server.db'}"
    port = free_port()
    server = _start(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store,
         "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        port, "/health",
    )  # fmt: skip
    try:
        uri = f"http://127.0.0.1:{port}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        mlflow.set_experiment("seqhealth")
        bundle = bundles["vitals_mortality"]
        with mlflow.start_run(run_name="vitals_mortality"):
            registration = log_and_register(bundle, METRICS, "vitals_mortality")
        assert registration["aliases"] == ["challenger", "champion"]
        model_input = model_inputs["vitals_mortality"]
        request = long_request(model_input["clean_long"], model_input["patients"]["test"])
        served = mlflow.pyfunc.load_model(champion_uri("vitals_mortality")).predict(request)
        from seqhealth.engine.fit import predict_samples
        from seqhealth.tasks.registry import TASKS

        # The served risks are the bundle's calibrated ones.
        in_process = np.ravel(TASKS["vitals_mortality"].risks(bundle, predict_samples(bundle, model_input["splits"]["test"])))
        np.testing.assert_allclose(served["risk"], in_process, atol=1e-5)
        run = MlflowClient().get_run(registration["run_id"])
        assert run.data.metrics["test.macro_f1"] == pytest.approx(0.61)
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        _stop(server)
        if admin is not None:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            admin.close()


# --------------------------------------------------------------------- mlflow models serve
def _post(port: int, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_models_serve_answers_raw_dna_and_raw_vitals(bundles, model_inputs, sqlite_tracking):
    for task in ("dna_classify", "vitals_mortality"):
        log_and_register(bundles[task], METRICS, task)
    ports = {task: free_port() for task in ("dna_classify", "vitals_mortality")}
    servers = {}
    try:
        for task, port in ports.items():  # both start in parallel; waiting is the slow part
            servers[task] = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "models", "serve", "-m", champion_uri(task), "--env-manager", "local",
                 "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
                env=venv_env(MLFLOW_TRACKING_URI=sqlite_tracking), start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        for task, port in ports.items():
            wait_for_http(f"http://127.0.0.1:{port}/ping", servers[task])

        dna = _dna_request(model_inputs)
        expected = mlflow.pyfunc.load_model(champion_uri("dna_classify")).predict(dna)
        status, body = _post(ports["dna_classify"], {"dataframe_split": dna.to_dict(orient="split", index=False)})
        assert status == 200
        assert_same_frames(pd.DataFrame(body["predictions"]), expected)

        mortality = model_inputs["vitals_mortality"]
        vitals = long_request(mortality["clean_long"], mortality["patients"]["test"][:3])
        vitals["time"] = [f"{int(h):02d}:{int(round(h % 1 * 60)):02d}" for h in vitals["time"]]  # HH:MM text
        expected = mlflow.pyfunc.load_model(champion_uri("vitals_mortality")).predict(vitals)
        status, body = _post(ports["vitals_mortality"], {"dataframe_records": vitals.to_dict(orient="records")})
        assert status == 200
        assert_same_frames(pd.DataFrame(body["predictions"]), expected)

        status, body = _post(ports["dna_classify"], {"dataframe_split": {"columns": ["sequence"], "data": [["ACGTXX"]]}})
        assert status == 400 and "invalid base 'X' at position 4" in body["message"]
        bad_vitals = vitals.head(2).assign(value=["80", "n/a"])
        status, body = _post(ports["vitals_mortality"], {"dataframe_records": bad_vitals.to_dict(orient="records")})
        assert status == 400 and "is not a number" in body["message"]
        status, _ = _post(ports["vitals_mortality"], {"not_a_format": []})
        assert 400 <= status < 500
    finally:
        for process in servers.values():
            _stop(process)


def test_registration_node_outside_a_session_says_it_did_not_register(bundles, monkeypatch, tmp_path):
    from seqhealth.tracking.registry import register_trained_model

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(None)
    result = register_trained_model(bundles["dna_classify"], METRICS)
    assert result == {"task": "dna_classify", "registered": False,
                      "reason": "no MLflow run and no tracking URI (pipeline run outside a Kedro session)"}  # fmt: skip
    assert list(tmp_path.iterdir()) == []
