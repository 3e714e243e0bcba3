"""Validate a folder of sequence files record by record (issue 21: memory bounded by a record).

``validate_dna_records(read_sequence_records(path))`` holds every record of the folder as a Python
string at once (and their concatenation while encoding). ``validate_dna_stream`` reads and encodes
record by record (``iter_sequence_file``), keeping only compact per-record arrays (uint8 tokens)
and the few fields screening needs, so the peak is a few copies of the largest record plus the
encoded folder (1 byte a base), however many records a file holds.
Its records, quarantine rows and report equal the whole-folder path's (tested), except that the
``sequence`` strings are not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.genomics.readers import (
    EXTENSION_FORMATS,
    RAW_COLUMNS,
    ignored_files,
    iter_sequence_file,
    list_sequence_files,
    read_sequence_records,
)
from seqhealth.genomics.validation import (
    _all_clean,
    _encode_all,
    _screen_records,
    dna_ingest_report,
)
from seqhealth.quality import DataFormatError, QuarantineLog, quarantine_frame

STREAM_COLUMNS = [column for column in RAW_COLUMNS if column != "sequence"]


@dataclass(frozen=True)
class SequenceSource:
    """A file or folder of sequence files, read lazily by ``validate_dna_stream``."""

    path: Path
    format: str | None = None  # fasta / fastq / genbank for every file; None: by extension

    def files(self) -> list[Path]:
        files = list_sequence_files(Path(self.path))
        if not files:
            raise DataFormatError(
                self.path,
                f"no sequence files ({' '.join(sorted(EXTENSION_FORMATS))}, optionally .gz) found",
            )
        return files

    def read_whole(self) -> pd.DataFrame:
        """Every record with its sequence string, as the non-streaming dataset loads them: for
        looking at a small folder (a notebook), not for ingesting a large one."""
        return read_sequence_records(
            Path(self.path), None if self.format in (None, "auto") else self.format
        )


# Records are encoded in batches of at least this many bases: one ``_encode_all`` call per short
# read would cost more than the read, while a batch stays one record (or 64 kb) in memory.
_BATCH_BASES = 1 << 16
# Per-record fields kept besides the raw columns.
_ENCODED = ("tokens", "length", "first_bad", "lower", "ambiguous")


def _file_records(path: Path, fmt: str | None) -> dict:
    """Per-record fields of one file, read and encoded record by record (a batch of short ones at
    a time); sequences are dropped once encoded."""
    columns: dict[str, list] = {key: [] for key in (*STREAM_COLUMNS, *_ENCODED)}
    batch: list[tuple] = []
    bases = 0
    for row in iter_sequence_file(path, fmt):
        batch.append(row)
        bases += len(row[3])
        del row  # held by the batch alone, a flushed record is freed before the next is read
        if bases >= _BATCH_BASES:
            _add_batch(columns, batch)
            batch, bases = [], 0
    if batch:
        _add_batch(columns, batch)
    return columns


def _add_batch(columns: dict[str, list], batch: list[tuple]) -> None:
    sequences = [row[3] for row in batch]
    tokens, first_bad, lower, ambiguous = _encode_all(sequences)
    lengths = [len(sequence) for sequence in sequences]
    del sequences
    # ``_encode_all`` gives views of one buffer for the batch; a copy per record lets the buffer
    # go (and the tokens of a record that will be quarantined are never kept).
    columns["tokens"].extend(
        t.copy() if bad is None and n else None for t, bad, n in zip(tokens, first_bad, lengths)
    )
    for key, values in zip(_ENCODED[1:], (lengths, first_bad, lower, ambiguous)):
        columns[key].extend(values)
    for i, column in enumerate(RAW_COLUMNS):
        if column != "sequence":
            columns[column].extend(row[i] for row in batch)


def validate_dna_stream(source: SequenceSource):
    """``(clean_df, quarantine_df, report)`` as ``validate_dna_records`` gives for the same files,
    without the ``sequence`` column; one record's text is in memory at a time."""
    fmt = None if source.format in (None, "auto") else source.format.lower()
    columns: dict[str, list] = {}
    for path in source.files():
        for key, values in _file_records(path, fmt).items():
            columns.setdefault(key, []).extend(values)
    ids = [str(record_id) for record_id in columns["record_id"]]
    log = QuarantineLog("dna")
    if _all_clean(ids, columns["length"], columns["first_bad"], columns["cds_parts"]):
        kept = list(range(len(ids)))
    else:
        kept = _screen_records(log, columns["source_file"], ids, columns["length"], columns["first_bad"],
                               columns["cds_parts"])  # fmt: skip
    clean = pd.DataFrame({c: [columns[c][i] for i in kept] for c in STREAM_COLUMNS},
                         columns=pd.Index(STREAM_COLUMNS, dtype=object), dtype=object)  # fmt: skip
    tokens = np.empty(len(kept), dtype=object)  # filled slot by slot: never a 2-D array
    for slot, i in enumerate(kept):
        tokens[slot] = columns["tokens"][i]
    clean["tokens"] = tokens
    lengths = np.array([columns["length"][i] for i in kept], dtype=np.int64)
    clean["length"] = lengths
    quarantine = log.to_frame() if log.rows else quarantine_frame()
    lower = np.asarray([columns["lower"][i] for i in kept], dtype=np.int64)
    ambiguous = np.asarray([columns["ambiguous"][i] for i in kept], dtype=np.int64)
    report = dna_ingest_report(len(ids), len(clean), quarantine, lower, ambiguous, lengths,
                               ignored_files(Path(source.path)))  # fmt: skip
    return clean, quarantine, report
