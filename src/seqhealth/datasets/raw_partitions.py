"""``RawPartitionsDataset(task, path)``: the retrain pipeline's raw input (task and path are
runtime parameters). Load -> ``RawPartitions``, a handle that fingerprints the task's
partitions cheaply (``state()``) and parses them only when asked (``read()``), so a retrain with
nothing new never parses anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from seqhealth.retraining.data_state import data_state
from seqhealth.tasks.registry import get_task


class RawPartitions:
    """All partitions of one task's raw folder."""

    def __init__(self, task: str, root: Path):
        self.task = task
        self.root = Path(root)

    def state(self) -> dict:
        return data_state(self.root)

    def read(self) -> dict:
        """The raw inputs ``Task.ingest`` takes, read the way training reads them."""
        return get_task(self.task).read_raw(self.root)


class RawPartitionsDataset(AbstractDataset[None, RawPartitions]):
    def __init__(self, task: str, path: str, metadata: dict[str, Any] | None = None):
        self._task = task
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> RawPartitions:
        get_task(self._task)  # a clear error for a missing/unknown retrain.task
        if not self._path.is_dir():
            raise DatasetError(f"retrain {self._task}: raw data folder {self._path} does not exist")
        return RawPartitions(self._task, self._path)

    def save(self, data) -> None:
        raise DatasetError(f"RawPartitionsDataset({self._path}) is read-only")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"task": self._task, "path": str(self._path)}
