"""Project settings (https://docs.kedro.org/en/stable/configure/configuration_basics/)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project


def _project_root() -> Path:
    # `kedro run` and KedroSession both run from inside the project; walking up from the
    # working directory (not from this file) keeps a copied project self-contained.
    return find_kedro_project(Path.cwd()) or Path.cwd()


def _project_path(relative: str) -> str:
    """Absolute path of a file inside the project (used for SQLite stores)."""
    return str(_project_root() / relative)


def _tracking_uri(default_relative_db: str) -> str:
    """MLFLOW_TRACKING_URI when set (a server), else an absolute SQLite URI in the project.

    MLflow 3 refuses a file store, and a relative sqlite:/// URI would land wherever the
    process happens to run (pytest, Airflow), so the default is made absolute here.
    """
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{_project_path(default_relative_db)}"


CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {
        "project_path": _project_path,
        "tracking_uri": _tracking_uri,
        "env": lambda name, default=None: os.environ.get(name, default),
        # The task registry's names (conf/base/airflow.yml); imported only when resolved.
        "task_names": lambda: list(importlib.import_module("seqhealth.tasks.registry").TASK_NAMES),
    },
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**"],
        "airflow": ["airflow*", "airflow*/**"],
    },
}

from seqhealth.hooks import (  # noqa: E402  (hooks need the settings above)
    NodeRunCounterHooks,
    RuntimeTrainParamsHooks,
)
from seqhealth.retraining.hooks import RetrainLockHooks  # noqa: E402
from seqhealth.tracking.hooks import TaskRunHooks  # noqa: E402
from seqhealth.tracking.mlflow_hook import mlflow_hook as redacting_mlflow_hook  # noqa: E402
from seqhealth.tracking.run_summary import RunSummaryHooks  # noqa: E402
from seqhealth.training_lock import TrainLockHooks  # noqa: E402

# TaskRunHooks: one nested MLflow run per task inside kedro-mlflow's run (tracking/hooks.py).
# RetrainLockHooks: one `kedro run --pipeline retrain` per task at a time (exit 75 otherwise).
# RunSummaryHooks: the closing table (test metrics vs baseline, outputs, next commands).
# TrainLockHooks: one training run per task and project folder at a time (exit 75 otherwise).
# redacting_mlflow_hook: kedro-mlflow's hook with input paths fingerprinted (tracking/redaction.py);
# it replaces the plugin's own instance and comes LAST to keep the plugin's place in the call order.
# RuntimeTrainParamsHooks: `--params "train.X=..."` wins over each task's own train block.
HOOKS = (NodeRunCounterHooks(), RuntimeTrainParamsHooks(), TaskRunHooks(), RetrainLockHooks(), RunSummaryHooks(), TrainLockHooks(),
         redacting_mlflow_hook)  # fmt: skip
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)
