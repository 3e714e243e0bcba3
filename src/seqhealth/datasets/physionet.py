"""Kedro datasets for the PhysioNet ICU challenges (read-only: raw data is never overwritten)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seqhealth.vitals.partitions import StayFolder
from seqhealth.vitals.readers import read_2012_directory, read_2019_directory, read_long_csv


class _ReadOnlyDirectoryDataset(AbstractDataset):
    def __init__(self, path: str, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def save(self, data) -> None:
        # Raw challenge files are inputs owned by PhysioNet; a run must never rewrite them.
        raise DatasetError(
            f"{type(self).__name__}({self._path}) is read-only; save() is not supported"
        )

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


class PhysioNet2012Dataset(_ReadOnlyDirectoryDataset):
    """Directory with ``<RecordID>.txt`` files and ``Outcomes*.txt`` anywhere under it, or a
    plain long CSV file (``patient_id, time, variable, value``) plus an outcomes CSV
    (``patient_id, label``) given as ``outcomes``.

    ``load()`` -> ``{"observations", "outcomes", "patients"}`` (see ``read_2012_directory``)::

        mortality_raw:
          type: seqhealth.datasets.physionet.PhysioNet2012Dataset
          path: data/01_raw/vitals_mortality

    With ``prepared_cache`` (a folder) and a directory as ``path``, ``load()`` reads nothing: it
    returns a ``vitals.partitions.StayFolder`` that ingest prepares partition by partition, as
    ``PhysioNet2019Dataset`` does (a long CSV file is read as before).
    """

    def __init__(self, path: str, outcomes: str | None = None, prepared_cache: str | None = None,
                 patients_per_partition: int = 1000, metadata: dict[str, Any] | None = None):  # fmt: skip
        super().__init__(path, metadata)
        # "null"/"" arrive as strings from a runtime_params default in the catalog.
        self._outcomes = Path(outcomes) if outcomes not in (None, "", "null", "None") else None
        self._cache = Path(prepared_cache) if prepared_cache not in (None, "", "null", "None") else None
        self._per_partition = int(patients_per_partition)

    def _exists(self) -> bool:
        return self._path.exists()

    def load(self) -> dict[str, pd.DataFrame] | StayFolder:
        if self._path.is_file():
            return read_long_csv(self._path, self._outcomes)
        if self._cache is not None:
            return StayFolder(self._path, self._cache, self._per_partition, "physionet2012")
        return read_2012_directory(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "outcomes": str(self._outcomes), "prepared_cache": str(self._cache),
                "patients_per_partition": self._per_partition}  # fmt: skip


class PhysioNet2019Dataset(_ReadOnlyDirectoryDataset):
    """Directory with ``*.psv`` files anywhere under it; ``load()`` -> raw wide frame
    (``source_file, patient_id, row`` + the file's columns as str)::

        sepsis_raw:
          type: seqhealth.datasets.physionet.PhysioNet2019Dataset
          path: data/01_raw/vitals_sepsis

    With ``prepared_cache`` (a folder), ``load()`` reads nothing: it returns a
    ``vitals.partitions.StayFolder`` that ingest prepares partition by partition
    (``patients_per_partition`` stays each, by patient-id hash), keeping the validated partitions
    there as partitioned Parquet and reusing every partition whose files did not change.
    """

    def __init__(self, path: str, prepared_cache: str | None = None, patients_per_partition: int = 1000,
                 metadata: dict[str, Any] | None = None):  # fmt: skip
        super().__init__(path, metadata)
        self._cache = Path(prepared_cache) if prepared_cache not in (None, "", "null", "None") else None
        self._per_partition = int(patients_per_partition)

    def load(self) -> pd.DataFrame | StayFolder:
        if self._cache is not None:
            return StayFolder(self._path, self._cache, self._per_partition)
        return read_2019_directory(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "prepared_cache": str(self._cache), "patients_per_partition": self._per_partition}
