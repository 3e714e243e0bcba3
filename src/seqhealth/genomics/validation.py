"""Validate raw DNA records: repair what the documented rules allow, quarantine the rest.

Repairs (counted in the report, never silent): lower-case (soft-masked) bases are upper-cased and
IUPAC ambiguity codes become N. Quarantined, one row per record, first reason wins:
empty record id, empty sequence, invalid character (with position), duplicate record id (first
valid occurrence kept), CDS part outside the record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqhealth.genomics.alphabet import (
    AMBIGUITY_MASK,
    INVALID,
    LOOKUP,
    LOWER_CASE_MASK,
    first_invalid,
)
from seqhealth.quality import QuarantineLog, ingest_report


def _encode_all(sequences: list[str]):
    """Tokens of every sequence with ONE lookup over the concatenation (fast for many short reads).

    Returns (token arrays, first invalid (pos, char) or None per record, lower-case counts,
    ambiguity counts).
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    joined = "".join(sequences)
    try:
        codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        # Non-ASCII somewhere: fall back to a per-record pass so each record gets its own verdict.
        return _encode_each(sequences)
    tokens = LOOKUP[codes]
    ends = np.cumsum(lengths)
    starts = ends - lengths

    def per_record_sum(mask: np.ndarray) -> np.ndarray:
        cumulative = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
        return cumulative[ends] - cumulative[starts]

    bad_positions = np.flatnonzero(tokens == INVALID)
    first_bad: list[tuple[int, str] | None] = [None] * len(sequences)
    if bad_positions.size:
        owners = np.searchsorted(ends, bad_positions, side="right")
        owner_ids, first_index = np.unique(owners, return_index=True)
        for record, position in zip(owner_ids, bad_positions[first_index]):
            offset = int(position - starts[record])
            first_bad[int(record)] = (offset, sequences[int(record)][offset])
    token_arrays = np.split(tokens, ends[:-1]) if len(sequences) else []
    return (
        token_arrays,
        first_bad,
        per_record_sum(LOWER_CASE_MASK[codes]),
        per_record_sum(AMBIGUITY_MASK[codes]),
    )


def _encode_each(sequences: list[str]):
    token_arrays, first_bad, lower, ambiguous = [], [], [], []
    for sequence in sequences:
        bad = first_invalid(sequence)
        first_bad.append(bad)
        if bad is not None:
            token_arrays.append(np.empty(0, dtype=np.uint8))
            lower.append(0)
            ambiguous.append(0)
            continue
        codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
        token_arrays.append(LOOKUP[codes])
        lower.append(int(LOWER_CASE_MASK[codes].sum()))
        ambiguous.append(int(AMBIGUITY_MASK[codes].sum()))
    return token_arrays, first_bad, np.asarray(lower), np.asarray(ambiguous)


def _cds_problem(cds_parts, length: int) -> str | None:
    for feature_number, parts in enumerate(cds_parts or [], start=1):
        for start, end, strand in parts:
            if not (0 <= start < end <= length):
                return (
                    f"CDS {feature_number} part ({start}, {end}, strand {strand}) outside the record "
                    f"of length {length} (0-based half-open)"
                )
    return None


def validate_dna_records(raw_df: pd.DataFrame):
    """``(clean_df, quarantine_df, report)``; clean_df = kept raw rows + ``tokens`` and ``length``."""
    log = QuarantineLog("dna")
    sequences = [str(s) for s in raw_df["sequence"]]
    token_arrays, first_bad, lower_counts, ambiguous_counts = _encode_all(sequences)
    source_files = raw_df["source_file"].astype(str).tolist()
    record_ids = raw_df["record_id"].astype(str).tolist()
    cds_column = raw_df["cds_parts"].tolist()

    kept_positions: list[int] = []
    first_seen: dict[str, str] = {}  # record id -> file of the occurrence that was kept
    for i, (source, record_id, sequence) in enumerate(zip(source_files, record_ids, sequences)):
        if not record_id.strip():
            log.add(source, f"#{i + 1}", "record_id", "empty record id (header has no identifier)")
            continue
        if len(sequence) == 0:
            log.add(source, record_id, "sequence", "empty sequence (record has no bases)")
            continue
        if first_bad[i] is not None:
            position, char = first_bad[i]
            hint = " (RNA base U is not DNA)" if char in "Uu" else ""
            log.add(
                source,
                record_id,
                "sequence",
                f"invalid character {char!r} at position {position} (0-based){hint}",
            )
            continue
        if record_id in first_seen:
            log.add(
                source,
                record_id,
                "record_id",
                f"duplicate record id (first occurrence kept, in {first_seen[record_id]})",
            )
            continue
        problem = _cds_problem(cds_column[i], len(sequence))
        if problem:
            log.add(source, record_id, "cds_parts", problem)
            continue
        first_seen[record_id] = source
        kept_positions.append(i)

    clean = raw_df.iloc[kept_positions].reset_index(drop=True)
    clean["tokens"] = pd.Series([token_arrays[i] for i in kept_positions], dtype=object)
    clean["length"] = np.array([len(sequences[i]) for i in kept_positions], dtype=np.int64)
    quarantine = log.to_frame()
    kept_lower = lower_counts[kept_positions] if kept_positions else np.zeros(0)
    kept_ambiguous = ambiguous_counts[kept_positions] if kept_positions else np.zeros(0)
    report = ingest_report(
        "dna",
        records_in=len(raw_df),
        records_kept=len(clean),
        quarantine=quarantine,
        n_softmasked_uppercased=int((kept_lower > 0).sum()),
        n_softmasked_bases=int(kept_lower.sum()),
        n_ambiguous_bases=int(kept_ambiguous.sum()),
        n_ambiguous_records=int((kept_ambiguous > 0).sum()),
        n_bases_kept=int(clean["length"].sum()),
    )
    return clean, quarantine, report
