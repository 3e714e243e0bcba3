"""The current champion's bundle, loaded from the registry (``models:/seqhealth-<task>@champion``).

The registered pyfunc's only artifact is the pickled bundle (``tracking/pyfunc.py``), so the
bundle is read straight from the downloaded model folder: no model server, no Python-model
unpickling, and the champion is scored with the same ``predict_samples`` as the challenger.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from seqhealth.serving.pyfunc import BUNDLE_ARTIFACT
from seqhealth.tracking.registry import CHAMPION, champion_uri, model_name


def champion_version(task: str, client: MlflowClient | None = None):
    """The registry's champion version of ``task`` or None (no model yet)."""
    client = client or MlflowClient()
    try:
        return client.get_model_version_by_alias(model_name(task), CHAMPION)
    except MlflowException:
        return None


def load_champion_bundle(task: str, client: MlflowClient | None = None) -> tuple[dict, int] | None:
    """``(bundle, version)`` of the champion, or None when the task has none."""
    version = champion_version(task, client)
    if version is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=champion_uri(task), dst_path=tmp))
        found = sorted(local.rglob(f"{BUNDLE_ARTIFACT}*.pkl")) or sorted(local.rglob("*.pkl"))
        if not found:
            raise FileNotFoundError(f"{champion_uri(task)} (version {version.version}) has no bundle artifact")
        with open(found[0], "rb") as handle:
            bundle = pickle.load(handle)
    return bundle, int(version.version)
