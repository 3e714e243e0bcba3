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
    AMBIGUOUS_FLAG,
    FLAG_SHIFT,
    INVALID_FLAG,
    LOOKUP,
    LOWER_CASE_FLAG,
    LOWER_CASE_MASK,
    PACKED_BYTES,
    first_invalid,
)
from seqhealth.quality import QuarantineLog, ingest_report, quarantine_frame

# Building even an empty canonical quarantine frame costs as much as validating 100 kb, so the
# no-quarantine case copies a template made once by quality.quarantine_frame.
_EMPTY_QUARANTINE = quarantine_frame()


_TOKEN_BITS = (1 << FLAG_SHIFT) - 1
_FLAG_BITS_PER_WORD = np.uint64(int.from_bytes(bytes([0xFF ^ _TOKEN_BITS]) * 8, "little"))


def _tokens_and_flags(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tokens of raw, positions of flagged bytes, their CHAR_FLAGS) from one translate pass.

    Flags are sparse, so the scan for them runs over 8-byte words (8x fewer elements) and only
    the few flagged words are expanded back to byte positions.
    """
    # bytearray keeps the token buffer writable (torch.from_numpy refuses read-only arrays).
    packed = np.frombuffer(bytearray(raw.translate(PACKED_BYTES)), dtype=np.uint8)
    n_whole = len(packed) // 8 * 8
    words = np.flatnonzero(packed[:n_whole].view(np.uint64) & _FLAG_BITS_PER_WORD)
    candidates = np.concatenate(
        [(words[:, None] * 8 + np.arange(8)).ravel(), np.arange(n_whole, len(packed))]
    )
    flags = packed[candidates] >> FLAG_SHIFT
    flagged = candidates[flags != 0]
    flags = flags[flags != 0]
    np.bitwise_and(packed, _TOKEN_BITS, out=packed)
    return packed, flagged, flags


def _encode_all(sequences: list[str]):
    """Tokens of every sequence with ONE lookup over the concatenation (fast for many short reads).

    Returns (token arrays, first invalid (pos, char) or None per record, lower-case counts,
    ambiguity counts).
    """
    n_records = len(sequences)
    joined = "".join(sequences)
    try:
        raw = joined.encode("ascii")
    except UnicodeEncodeError:
        # Non-ASCII somewhere: fall back to a per-record pass so each record gets its own verdict.
        return _encode_each(sequences)
    ends = np.cumsum([len(s) for s in sequences], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if n_records else ends
    tokens, flagged, flags = _tokens_and_flags(raw)
    owners = np.searchsorted(ends, flagged, side="right")

    def count_per_record(flag: int) -> np.ndarray:
        return np.bincount(owners[(flags & flag) > 0], minlength=n_records)

    first_bad: list[tuple[int, str] | None] = [None] * n_records
    invalid = (flags & INVALID_FLAG) > 0
    if invalid.any():
        owner_ids, first_index = np.unique(owners[invalid], return_index=True)
        for record, position in zip(owner_ids.tolist(), flagged[invalid][first_index].tolist()):
            offset = position - int(starts[record])
            first_bad[record] = (offset, sequences[record][offset])
    token_arrays = [tokens[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
    return (
        token_arrays,
        first_bad,
        count_per_record(LOWER_CASE_FLAG),
        count_per_record(AMBIGUOUS_FLAG),
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


def _all_clean(record_ids, lengths, first_bad, cds_column) -> bool:
    """True when no record can be quarantined: checked with C-level passes, no per-record branch."""
    return (
        first_bad.count(None) == len(first_bad)
        and min(lengths, default=1) > 0
        and all(record_id.strip() for record_id in record_ids)
        and len(set(record_ids)) == len(record_ids)
        and not any(_cds_problem(cds, length) for cds, length in zip(cds_column, lengths) if cds)
    )


def _screen_records(log, source_files, record_ids, lengths, first_bad, cds_column) -> list[int]:
    """Positions of the records to keep; one quarantine row (first reason) for each other one."""
    kept_positions: list[int] = []
    first_seen: dict[str, str] = {}  # record id -> file of the occurrence that was kept
    for i, (source, record_id, length) in enumerate(zip(source_files, record_ids, lengths)):
        if not record_id.strip():
            log.add(source, f"#{i + 1}", "record_id", "empty record id (header has no identifier)")
            continue
        if length == 0:
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
        problem = _cds_problem(cds_column[i], length) if cds_column[i] else None
        if problem:
            log.add(source, record_id, "cds_parts", problem)
            continue
        first_seen[record_id] = source
        kept_positions.append(i)

    return kept_positions


def validate_dna_records(raw_df: pd.DataFrame):
    """``(clean_df, quarantine_df, report)``; clean_df = kept raw rows + ``tokens`` and ``length``."""
    log = QuarantineLog("dna")
    sequences = raw_df["sequence"].tolist()
    token_arrays, first_bad, lower_counts, ambiguous_counts = _encode_all(sequences)
    source_files = raw_df["source_file"].tolist()
    record_ids = [str(record_id) for record_id in raw_df["record_id"].tolist()]
    cds_column = raw_df["cds_parts"].tolist()

    lengths_all = [len(sequence) for sequence in sequences]
    if _all_clean(record_ids, lengths_all, first_bad, cds_column):
        kept_positions = list(range(len(sequences)))  # nothing to quarantine: skip the slow path
    else:
        kept_positions = _screen_records(
            log, source_files, record_ids, lengths_all, first_bad, cds_column
        )

    if len(kept_positions) == len(raw_df):  # the usual case: no row selection needed
        clean = raw_df.reset_index(drop=True)
    else:
        clean = raw_df.iloc[kept_positions].reset_index(drop=True)
    # Filling a preallocated object array avoids pandas inferring a 2-D array from equal lengths.
    kept_tokens = np.empty(len(kept_positions), dtype=object)
    for slot, i in enumerate(kept_positions):
        kept_tokens[slot] = token_arrays[i]
    clean["tokens"] = kept_tokens
    lengths = np.array([lengths_all[i] for i in kept_positions], dtype=np.int64)
    clean["length"] = lengths
    quarantine = log.to_frame() if log.rows else _EMPTY_QUARANTINE.copy()
    kept_lower = lower_counts[kept_positions] if kept_positions else np.zeros(0)
    kept_ambiguous = ambiguous_counts[kept_positions] if kept_positions else np.zeros(0)
    report = dna_ingest_report(len(raw_df), len(clean), quarantine, kept_lower, kept_ambiguous, lengths,
                               list(raw_df.attrs.get("ignored_files", [])))  # fmt: skip
    return clean, quarantine, report


def dna_ingest_report(records_in: int, records_kept: int, quarantine, lower: np.ndarray, ambiguous: np.ndarray,
                      lengths: np.ndarray, files_ignored: list) -> dict:  # fmt: skip
    """The DNA ingest report (``validate_dna_records`` and the streamed ``validate_dna_stream``):
    ``lower`` / ``ambiguous`` / ``lengths`` are per kept record."""
    return ingest_report(
        "dna",
        records_in=records_in,
        records_kept=records_kept,
        quarantine=quarantine,
        n_softmasked_uppercased=int((lower > 0).sum()),
        n_softmasked_bases=int(lower.sum()),
        n_ambiguous_bases=int(ambiguous.sum()),
        n_ambiguous_records=int((ambiguous > 0).sum()),
        n_bases_kept=int(lengths.sum()),
        files_ignored=files_ignored,
    )
