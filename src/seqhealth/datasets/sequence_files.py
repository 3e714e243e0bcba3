"""Kedro dataset: a FASTA / FASTQ / GenBank file or a directory of them, loaded as raw records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seqhealth.genomics.readers import FORMATS, read_sequence_records
from seqhealth.genomics.streaming import SequenceSource


class SequenceFilesDataset(AbstractDataset[None, pd.DataFrame | SequenceSource]):
    """Read-only: ``load()`` returns ``read_sequence_records(path, format)``, or with
    ``stream: true`` a ``SequenceSource`` that the task's ingest reads file by file (a folder of
    genomes is never held as Python strings at once; issue 21).

    Example catalog entry::

        dna_raw:
          type: seqhealth.datasets.sequence_files.SequenceFilesDataset
          path: data/01_raw/dna_coding
          format: auto      # or fasta / fastq / genbank (applies to every file)
          stream: false     # true: load() gives a SequenceSource (lazy; ingest streams it)
    """

    def __init__(self, path: str, format: str = "auto", stream: bool = False, metadata: dict[str, Any] | None = None):
        fmt = (format or "auto").lower()
        if fmt != "auto" and fmt not in FORMATS:
            raise DatasetError(
                f"SequenceFilesDataset({path!r}): format must be 'auto' or one of {FORMATS}, "
                f"got {format!r}"
            )
        self._path = Path(path)
        self._format = fmt
        self._stream = bool(stream)
        self.metadata = metadata

    def load(self) -> pd.DataFrame | SequenceSource:
        if self._stream:
            return SequenceSource(self._path, None if self._format == "auto" else self._format)
        return read_sequence_records(self._path, None if self._format == "auto" else self._format)

    def save(self, data: pd.DataFrame) -> None:
        # Raw sequence files are inputs owned by their producers; never overwrite them from a run.
        raise DatasetError(
            f"SequenceFilesDataset({self._path}) is read-only; save() is not supported"
        )

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "format": self._format, "stream": self._stream}
