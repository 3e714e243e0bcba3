"""Kedro dataset of a labels table (``genomics.labels_table``: delimiter decided from the header)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seqhealth.genomics.labels_table import read_labels_tables


class LabelsTableDataset(AbstractDataset[None, pd.DataFrame]):
    """Kedro dataset of ``read_labels_table`` (read-only: the table is the lab's input)::

    dna_classify.labels_table:
      type: seqhealth.datasets.labels_table.LabelsTableDataset
      filepath: data/01_raw/dna_classify/labels.tsv
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_labels_tables(self._filepath)

    def save(self, data) -> None:
        raise DatasetError(f"LabelsTableDataset({self._filepath}) is read-only")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
