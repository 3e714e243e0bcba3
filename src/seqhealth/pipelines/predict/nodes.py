"""Batch prediction nodes: raw files -> validated request table -> champion model scores."""

from __future__ import annotations

import logging

import mlflow
import pandas as pd
from mlflow import MlflowClient

from seqhealth.serving.raw_inputs import DEFAULT_LIMITS
from seqhealth.tasks.registry import get_task
from seqhealth.tracking.registry import champion_uri

logger = logging.getLogger(__name__)


def prepare_request(raw_input: dict):
    """Validate like ingestion (bad records -> quarantine, nothing silently lost) and build the
    model's raw request table. Returns ``(request, quarantine, report)``."""
    task = get_task(raw_input["task"])
    request, quarantine, report = task.prepare_request(raw_input)
    report = {**report, "task": task.name, "format": raw_input["format"], "request_rows": len(request)}
    logger.info("predict %s: %d request rows, %d quarantined", task.name, len(request), len(quarantine))
    return request, quarantine, report


def _chunks(request: pd.DataFrame, key: str, max_rows: int, max_bases: int | None = None):
    """Whole records/patients per chunk, each chunk within the model's request limits."""
    sizes = request.groupby(key, sort=False).size()
    bases = request.groupby(key, sort=False)["sequence"].agg(lambda s: int(s.str.len().sum())) if max_bases else None
    chunk, rows, n_bases = [], 0, 0
    for unit, n in sizes.items():
        b = int(bases[unit]) if bases is not None else 0
        if chunk and (rows + n > max_rows or (max_bases and n_bases + b > max_bases)):
            yield chunk
            chunk, rows, n_bases = [], 0, 0
        chunk.append(unit)
        rows, n_bases = rows + n, n_bases + b
    if chunk:
        yield chunk


def score_with_champion(request: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Predictions of ``models:/seqhealth-<task>@<alias>`` (or ``params["model_uri"]``)."""
    task = get_task(params["task"])
    uri = params.get("model_uri") or champion_uri(task.name, params.get("alias") or "champion")
    if request.empty:
        raise ValueError(f"predict {task.name}: nothing to score (every record was quarantined or the input is empty)")
    model = mlflow.pyfunc.load_model(uri)
    key = task.request_key
    max_rows = int(params.get("chunk_rows") or DEFAULT_LIMITS["max_rows"])
    # Sequence requests are also limited in bases.
    max_bases = int(params.get("chunk_bases") or DEFAULT_LIMITS["max_bases"]) if "sequence" in request.columns else None
    parts = []
    for units in _chunks(request, key, max_rows, max_bases):
        parts.append(model.predict(request[request[key].isin(set(units))]))
    predictions = pd.concat(parts, ignore_index=True)
    # Every row says which model scored it: the registered name, version and the alias used.
    name, version, alias = _model_provenance(uri)
    predictions = predictions.assign(model_name=name, model_version=version, model_alias=alias)
    logger.info("predict %s with %s (version %s): %d prediction rows", task.name, uri, version, len(predictions))
    return predictions


def _model_provenance(uri: str) -> tuple[str, str, str]:
    """``(registered model, version, alias)`` of a ``models:/name@alias`` or ``models:/name/N`` URI
    (empty strings for a run or file URI, which is no registered version)."""
    if not uri.startswith("models:/"):
        return "", "", ""
    reference = uri[len("models:/"):]
    if "@" in reference:
        name, alias = reference.split("@", 1)
        return name, str(MlflowClient().get_model_version_by_alias(name, alias).version), alias
    name, _, version = reference.partition("/")
    return name, version, ""
