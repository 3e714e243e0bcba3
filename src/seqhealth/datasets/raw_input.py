"""Kedro dataset: new raw files to score, read the way the task reads them for prediction
(``Task.read_predict_input``: labels optional, e.g. a 2012 folder without ``Outcomes*.txt``).

``load()`` -> ``{"task": str, "format": str, "raw": ...}``. Example::

    predict.raw_input:
      type: seqhealth.datasets.raw_input.RawInputDataset
      task: ${runtime_params:predict.task, unset}
      path: ${runtime_params:predict.path, unset}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from seqhealth.tasks.registry import TASK_NAMES, get_task


def read_raw_input(task: str, path: Path, pipeline: str = "predict") -> dict:
    if task not in TASK_NAMES:
        raise DatasetError(
            f"{pipeline}.task must be one of {TASK_NAMES}, got {task!r} "
            f'(kedro run --pipeline {pipeline} --params "{pipeline}.task=<task>,{pipeline}.path=<file or folder>")'
        )
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{pipeline}.path {str(path)!r} does not exist")
    return {"task": task, **get_task(task).read_predict_input(path)}


class RawInputDataset(AbstractDataset[None, dict]):
    """Read-only raw input of ``task`` at ``path`` (a file or a folder)."""

    def __init__(self, task: str, path: str, metadata: dict[str, Any] | None = None, pipeline: str = "predict"):
        self._task = task
        self._path = Path(path)
        self._pipeline = pipeline  # the parameters' name in error messages: predict | explain
        self.metadata = metadata

    def load(self) -> dict:
        return read_raw_input(self._task, self._path, self._pipeline)

    def save(self, data) -> None:
        raise DatasetError(f"RawInputDataset({self._path}) is read-only; save() is not supported")

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"task": self._task, "path": str(self._path)}
