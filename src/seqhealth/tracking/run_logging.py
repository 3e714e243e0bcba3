"""What a task's MLflow run records, written through ``MlflowClient`` with an explicit run id.

Only aggregates travel to MLflow: metrics, hyper-parameters, counts and hashes of the data,
figures of aggregate curves. Never a record id, patient id or raw value (the callers pass
documents built for that: metrics, history, fingerprints; ``tests/tracking`` scans a real run).
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

VERSIONED_PACKAGES = ("torch", "lightning", "kedro", "kedro-mlflow", "mlflow", "seqhealth")
_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch


def flatten(document: dict, prefix: str = "", sep: str = ".") -> dict:
    """Nested dict -> ``{"a.b.c": value}``."""
    flat = {}
    for key, value in document.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), _BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + _BATCH])


def log_test_metrics(run_id: str, metrics_document: dict, client: MlflowClient | None = None) -> dict:
    """``test.*``, ``baseline.*`` and the document's other numbers (threshold, counts) as metrics."""
    client = client or MlflowClient()
    now = int(time.time() * 1000)
    numbers = {k: v for k, v in flatten(metrics_document).items() if _is_number(v)}
    _log_metrics(client, run_id, [Metric(k, float(v), now, 0) for k, v in sorted(numbers.items())])
    return numbers


def log_history(run_id: str, history: list[dict], client: MlflowClient | None = None) -> int:
    """Per-epoch ``train_*``/``val_*`` metrics with ``step = epoch``; returns how many."""
    client = client or MlflowClient()
    now = int(time.time() * 1000)
    metrics = [
        Metric(key, float(value), now, int(row["epoch"]))
        for row in history
        for key, value in row.items()
        if key != "epoch" and _is_number(value)
    ]
    _log_metrics(client, run_id, metrics)
    return len(metrics)


def log_params(run_id: str, params: dict, client: MlflowClient | None = None) -> None:
    """Flattened parameters; values longer than MLflow's limit are truncated (as kedro-mlflow does)."""
    client = client or MlflowClient()
    flat = flatten(params)
    entries = [Param(k, str(v)[:6000]) for k, v in sorted(flat.items())]
    for start in range(0, len(entries), 100):
        client.log_batch(run_id, params=entries[start : start + 100])


def log_fingerprint(run_id: str, fingerprint: dict, client: MlflowClient | None = None) -> None:
    """Counts and hashes per split as ``data.*`` params plus ``data_fingerprint.json``."""
    client = client or MlflowClient()
    log_params(run_id, {"data": fingerprint}, client)
    client.log_text(run_id, json.dumps(fingerprint, indent=2, sort_keys=True), "data_fingerprint.json")


def log_figures(run_id: str, figures: dict, client: MlflowClient | None = None, folder: str = "plots") -> list[str]:
    """Each matplotlib figure as ``plots/<name>.png``."""
    client = client or MlflowClient()
    logged = []
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        path = f"{folder}/{Path(str(name)).stem}.png"
        _log_bytes(client, run_id, buffer.getvalue(), path)
        logged.append(path)
    return logged


def _log_bytes(client: MlflowClient, run_id: str, data: bytes, artifact_file: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(artifact_file).name
        local.write_bytes(data)
        client.log_artifact(run_id, str(local), str(Path(artifact_file).parent))


def git_commit(start: Path | None = None) -> str | None:
    """HEAD of the repository around ``start`` (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=start or Path.cwd(), capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def environment_tags(project_path: Path | None = None) -> dict:
    """``seqhealth.git_commit`` (when in a checkout) and ``version.<package>`` tags."""
    tags = {}
    commit = git_commit(project_path)
    if commit:
        tags["seqhealth.git_commit"] = commit
        tags["mlflow.source.git.commit"] = commit
    for package in VERSIONED_PACKAGES:
        try:
            tags[f"version.{package}"] = version(package)
        except PackageNotFoundError:
            continue
    return tags


def set_tags(run_id: str, tags: dict, client: MlflowClient | None = None) -> None:
    client = client or MlflowClient()
    client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
