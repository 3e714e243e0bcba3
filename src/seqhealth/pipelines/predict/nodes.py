"""Batch prediction nodes: raw files -> validated request table -> champion model scores."""

from __future__ import annotations

import logging

import mlflow
import pandas as pd

from seqhealth.genomics.validation import validate_dna_records
from seqhealth.tracking.raw_inputs import DEFAULT_LIMITS, ranges_for
from seqhealth.tracking.registry import champion_uri
from seqhealth.vitals.validation import validate_long
from seqhealth.vitals.validation_2019 import validate_2019

logger = logging.getLogger(__name__)


def prepare_request(raw_input: dict):
    """Validate like ingestion (bad records -> quarantine, nothing silently lost) and build the
    model's raw request table. Returns ``(request, quarantine, report)``."""
    task, fmt, raw = raw_input["task"], raw_input["format"], raw_input["raw"]
    if task.startswith("dna"):
        clean, quarantine, report = validate_dna_records(raw)
        request = pd.DataFrame({"id": clean["record_id"].astype(str), "sequence": clean["sequence"].astype(str)})
    else:
        if fmt == "physionet2019":
            clean, _labels, quarantine, report = validate_2019(raw)
        else:
            # Outcomes are not needed to score: without them no patient is dropped for lacking one.
            ranges = ranges_for({}, task)
            clean, _labels, quarantine, report = validate_long(raw["observations"], None, ranges, raw.get("patients"))
        request = pd.DataFrame(
            {"patient_id": clean["patient_id"].astype(str), "time": clean["time_h"].astype(float),
             "variable": clean["variable"].astype(str), "value": clean["value"].astype(float)}
        )  # fmt: skip
    report = {**report, "task": task, "format": fmt, "request_rows": len(request)}
    logger.info("predict %s: %d request rows, %d quarantined", task, len(request), len(quarantine))
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
    task = params["task"]
    uri = params.get("model_uri") or champion_uri(task, params.get("alias") or "champion")
    if request.empty:
        raise ValueError(f"predict {task}: nothing to score (every record was quarantined or the input is empty)")
    model = mlflow.pyfunc.load_model(uri)
    key = "id" if task.startswith("dna") else "patient_id"
    max_rows = int(params.get("chunk_rows") or DEFAULT_LIMITS["max_rows"])
    max_bases = int(params.get("chunk_bases") or DEFAULT_LIMITS["max_bases"]) if key == "id" else None
    parts = []
    for units in _chunks(request, key, max_rows, max_bases):
        parts.append(model.predict(request[request[key].isin(set(units))]))
    predictions = pd.concat(parts, ignore_index=True)
    logger.info("predict %s with %s: %d prediction rows", task, uri, len(predictions))
    return predictions
