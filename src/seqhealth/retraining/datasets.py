"""Kedro datasets of the retrain pipeline (the task is a runtime parameter, so are the paths).

* ``RawPartitionsDataset(task, path)``: load -> ``RawPartitions``, a handle that fingerprints the
  task's partitions cheaply (``state()``) and parses them only when asked (``read()``), so a
  retrain with nothing new never parses anything.
* ``OptionalDataset(dataset)``: a wrapped dataset that may not exist yet (the previous decision,
  the frozen evaluation set): load -> ``None`` when absent; saving ``SKIPPED`` writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seqhealth.genomics.readers import read_sequence_records
from seqhealth.retraining.data_state import data_state
from seqhealth.tasks.registry import task_spec
from seqhealth.vitals.readers import read_2012_directory, read_2019_directory

LABEL_TABLE_SUFFIXES = (".tsv", ".csv")


class Skipped:
    """What a retrain with nothing new passes between its nodes and to its outputs instead of
    data (Kedro refuses to save ``None``, in memory or to a file)."""

    def __repr__(self) -> str:
        return "Skipped()"


SKIPPED = Skipped()


def is_skipped(value) -> bool:
    # isinstance, not identity: a MemoryDataset may hand nodes a copy.
    return isinstance(value, Skipped)


def read_labels_tables(root: Path):
    """Every ``*.tsv``/``*.csv`` under ``root`` (one per partition), concatenated as strings."""
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in LABEL_TABLE_SUFFIXES)
    if not paths:
        raise DatasetError(f"dna_classify: no labels table (*.tsv / *.csv) under {root}")
    frames = [pd.read_csv(p, sep=None, engine="python", dtype=str) for p in paths]
    return pd.concat(frames, ignore_index=True)


class RawPartitions:
    """All partitions of one task's raw folder; see the module docstring."""

    def __init__(self, task: str, root: Path):
        self.task = task
        self.root = Path(root)

    def state(self) -> dict:
        return data_state(self.root)

    def read(self):
        """The raw input the task's ``TaskSpec.ingest`` takes (see ``tasks.registry``)."""
        if self.task in ("dna_coding", "dna_classify"):
            records = read_sequence_records(self.root)
            if self.task == "dna_coding":
                return records
            return {"records": records, "labels_table": read_labels_tables(self.root)}
        if self.task == "vitals_mortality":
            return read_2012_directory(self.root)
        return read_2019_directory(self.root)


class RawPartitionsDataset(AbstractDataset[None, RawPartitions]):
    def __init__(self, task: str, path: str, metadata: dict[str, Any] | None = None):
        self._task = task
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> RawPartitions:
        task_spec(self._task)  # a clear error for a missing/unknown retrain.task
        if not self._path.is_dir():
            raise DatasetError(f"retrain {self._task}: raw data folder {self._path} does not exist")
        return RawPartitions(self._task, self._path)

    def save(self, data) -> None:
        raise DatasetError(f"RawPartitionsDataset({self._path}) is read-only")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"task": self._task, "path": str(self._path)}


class OptionalDataset(AbstractDataset):
    """Any Kedro dataset, made optional: load -> None when absent; saving SKIPPED writes nothing.

    ``dataset`` is the wrapped dataset's config, as in the catalog (``{type: json.JSONDataset,
    filepath: ...}``). Used for the previous decision / frozen set (absent at a task's first
    retrain) and for what a skipped retrain does not produce (it must not blank the last files).
    """

    def __init__(self, dataset: dict, metadata: dict[str, Any] | None = None):
        self._dataset = AbstractDataset.from_config("wrapped", dict(dataset))
        self.metadata = metadata

    def load(self):
        return self._dataset.load() if self._dataset.exists() else None

    def save(self, data) -> None:
        if not is_skipped(data):
            self._dataset.save(data)

    def _exists(self) -> bool:
        return self._dataset.exists()

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._dataset._describe()}
