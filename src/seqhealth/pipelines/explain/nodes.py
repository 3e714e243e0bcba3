"""Explain nodes: the registered model's bundle (champion by default) -> ``Task.explain`` on a
request validated exactly as ``predict`` validates it -> tables and plots, also logged to MLflow."""

from __future__ import annotations

import logging
import pickle
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from seqhealth.datasets.explain_outputs import write_explanations
from seqhealth.engine.explain import ExplanationError
from seqhealth.engine.fit import load_model
from seqhealth.serving.pyfunc import BUNDLE_ARTIFACT
from seqhealth.serving.raw_inputs import DEFAULT_LIMITS
from seqhealth.tasks.registry import get_task
from seqhealth.tracking.registry import champion_uri, model_name

logger = logging.getLogger(__name__)

OPTION_KEYS = ("ids", "hour", "max_plots", "top_variables", "ig_steps", "ism_batch_size", "device")


def model_uri(task: str, params: dict) -> str:
    """``explain.model_uri``, else ``models:/seqhealth-<task>@<alias>`` (alias default champion),
    checked to exist so a task without one gets an error that says so."""
    if params.get("model_uri"):
        return str(params["model_uri"])
    alias = params.get("alias") or "champion"
    try:
        MlflowClient().get_model_version_by_alias(model_name(task), alias)
    except MlflowException:
        raise ExplanationError(
            f"task {task} has no registered model under alias {alias!r} ({champion_uri(task, alias)}); "
            f"train one first (kedro run --pipeline {task}) or pass explain.model_uri"
        ) from None
    return champion_uri(task, alias)


def load_registered_bundle(uri: str) -> dict:
    """The pickled bundle that is the pyfunc's only artifact (``serving.pyfunc``)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
        except (MlflowException, OSError) as error:
            raise ExplanationError(f"cannot load the model {uri}: {error}") from None
        found = sorted(local.rglob(f"{BUNDLE_ARTIFACT}*.pkl")) or sorted(local.rglob("*.pkl"))
        if not found:
            raise ExplanationError(f"{uri} has no model bundle artifact (not a seqhealth model)")
        with open(found[0], "rb") as handle:
            return pickle.load(handle)


def explain_request(request: pd.DataFrame, params: dict) -> dict:
    """``{"tables", "figures"}`` of ``Task.explain`` with the registered model; the same files
    are logged to the active MLflow run under ``explain/<task>/``."""
    task = get_task(params["task"])
    uri = model_uri(task.name, params)  # first: without a model, no input can be explained
    if request.empty:
        raise ExplanationError(f"explain {task.name}: nothing to explain (every record was quarantined or the input is empty)")
    bundle = load_registered_bundle(uri)
    if bundle.get("task") != task.name:
        raise ExplanationError(f"{uri} is a {bundle.get('task')!r} model, not {task.name!r}")
    options = {k: params[k] for k in OPTION_KEYS if params.get(k) is not None}
    options["limits"] = {**DEFAULT_LIMITS, **(params.get("limits") or {})}
    tables, figures = task.explain(load_model(bundle), bundle, request, options)
    _log_to_mlflow(task.name, uri, tables, figures)
    first = next(iter(tables.values()))
    logger.info("explain %s with %s: %d units explained, %d plots", task.name, uri, len(first), len(figures))
    return {"tables": tables, "figures": figures}


def _log_to_mlflow(task: str, uri: str, tables: dict, figures: dict) -> None:
    if mlflow.active_run() is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        write_explanations(Path(tmp), {"tables": tables, "figures": figures}, close=False)
        mlflow.log_artifacts(tmp, artifact_path=f"explain/{task}")
    mlflow.set_tag(f"explain.{task}.model_uri", uri)
    gaps = tables.get("patients", pd.DataFrame()).get("completeness_gap")
    if gaps is not None and len(gaps):
        mlflow.log_metric(f"explain.{task}.max_abs_completeness_gap", float(np.abs(gaps).max()))
