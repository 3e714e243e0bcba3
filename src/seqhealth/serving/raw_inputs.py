"""Raw request tables -> model-ready samples, exactly as training prepared them.

This is the preprocessing that travels inside the MLflow pyfunc (``serving.pyfunc``): the same
code serves ``mlflow models serve``, ``mlflow.pyfunc.load_model(...).predict`` and batch
prediction. Everything is strict: a table that is not what the model expects raises
``RawInputError`` naming the row, column or record, it is never silently repaired.

Accepted tables
---------------
DNA models: column ``sequence`` (optional ``id``), or column ``fasta`` holding FASTA text
(one or more records per cell).
Vitals models: a long table ``patient_id, time, variable, value``; ``time`` in hours since
admission (number) or ``HH:MM``; the variables are the training dataset's own names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqhealth.genomics.alphabet import first_invalid
from seqhealth.genomics.readers import fasta_records
from seqhealth.vitals.features import encode_like
from seqhealth.vitals.readers import LONG_CSV_COLUMNS, long_csv_to_raw, parse_hours
from seqhealth.vitals.validation import validate_long

DEFAULT_LIMITS = {
    # A request (or one batch chunk) larger than this is refused, not half-processed.
    "max_rows": 500_000,
    "max_bases": 20_000_000,
}
_SHOWN_PROBLEMS = 5


class RawInputError(ValueError):
    """The raw table cannot be scored as it is; the message says where and why."""


def _limits(limits: dict | None) -> dict:
    return {**DEFAULT_LIMITS, **(limits or {})}


def _check_rows(frame: pd.DataFrame, limits: dict) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise RawInputError(f"expected a table (DataFrame), got {type(frame).__name__}")
    if len(frame) == 0:
        raise RawInputError("the input table has no rows")
    if len(frame) > limits["max_rows"]:
        raise RawInputError(
            f"the input table has {len(frame)} rows, more than the limit of {limits['max_rows']}; "
            "split it into smaller requests"
        )


def _present(series: pd.Series) -> pd.Series:
    """True where a cell holds something (not None/NaN/empty string)."""
    return series.notna() & (series.astype(str).str.strip() != "")


# ------------------------------------------------------------------------------------ DNA
def dna_records(frame: pd.DataFrame, limits: dict | None = None) -> tuple[list[str], list[str]]:
    """``(ids, sequences)`` from a ``sequence``/``id`` or a ``fasta`` table; upper-cased, checked."""
    limits = _limits(limits)
    if isinstance(frame, pd.DataFrame) and not ({"sequence", "fasta"} & set(frame.columns)):
        raise RawInputError(
            "DNA input needs exactly one of the columns 'sequence' (optional 'id') or 'fasta'; "
            f"got columns {list(frame.columns)}"
        )
    _check_rows(frame, limits)
    has_sequence = "sequence" in frame.columns and _present(frame["sequence"]).any()
    has_fasta = "fasta" in frame.columns and _present(frame["fasta"]).any()
    if has_sequence == has_fasta:
        raise RawInputError(
            "DNA input needs exactly one of the columns 'sequence' (optional 'id') or 'fasta' "
            f"with values; got columns {list(frame.columns)}"
        )
    if has_fasta:
        ids, sequences = [], []
        for row, text in enumerate(frame["fasta"]):
            if not isinstance(text, str) or ">" not in text:
                raise RawInputError(f"row {row}: column 'fasta' holds no FASTA record ('>' header)")
            for title, sequence in fasta_records(text):
                ids.append(title.split()[0] if title.strip() else f"row{row}")
                sequences.append(sequence)
    else:
        column = frame["sequence"]
        missing = np.flatnonzero(~_present(column).to_numpy())
        if missing.size:
            raise RawInputError(f"row {int(missing[0])}: empty or missing 'sequence'")
        not_text = [i for i, value in enumerate(column) if not isinstance(value, str)]
        if not_text:
            raise RawInputError(f"row {not_text[0]}: 'sequence' must be a string of bases")
        sequences = [s.strip() for s in column]
        if "id" in frame.columns:
            ids = [str(v) if pd.notna(v) and str(v) != "" else str(i) for i, v in enumerate(frame["id"])]
        else:
            ids = [str(i) for i in range(len(frame))]
    total = sum(len(s) for s in sequences)
    if total > limits["max_bases"]:
        raise RawInputError(f"{total} bases in the request, more than the limit of {limits['max_bases']}")
    for record_id, sequence in zip(ids, sequences):
        if not sequence:
            raise RawInputError(f"record {record_id!r}: empty sequence")
        bad = first_invalid(sequence)
        if bad is not None:
            position, char = bad
            raise RawInputError(
                f"record {record_id!r}: invalid base {char!r} at position {position} (0-based); "
                "allowed: A C G T and IUPAC codes (U is RNA, not DNA)"
            )
    return ids, [s.upper() for s in sequences]


# --------------------------------------------------------------------------------- vitals
def vitals_long_table(
    frame: pd.DataFrame, preprocessing: dict, ranges: dict, limits: dict | None = None
) -> pd.DataFrame:
    """Raw long table -> the validated canonical table ``patient_id, time_h, variable, value``.

    Unlike ingestion (which quarantines and goes on), a request is refused when any observation
    would be quarantined: the caller sent it and should hear why, rather than get a risk computed
    without it. Exact duplicate rows are the one repair accepted (as in training).
    """
    limits = _limits(limits)
    _check_rows(frame, limits)
    missing = [c for c in LONG_CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise RawInputError(f"vitals input lacks columns {missing}; expected {LONG_CSV_COLUMNS}")
    frame = frame.reset_index(drop=True)
    for column in LONG_CSV_COLUMNS:
        empty = np.flatnonzero(~_present(frame[column]).to_numpy())
        if empty.size:
            raise RawInputError(f"row {int(empty[0])}: missing '{column}'")
    hours = parse_hours(frame["time"].astype(str)).to_numpy()
    bad_time = np.flatnonzero(~np.isfinite(hours) | (hours < 0))
    if bad_time.size:
        row = int(bad_time[0])
        raise RawInputError(f"row {row}: time {frame['time'][row]!r} is not hours >= 0 or HH:MM")
    values = pd.to_numeric(frame["value"].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    bad_value = np.flatnonzero(~np.isfinite(values))
    if bad_value.size:
        row = int(bad_value[0])
        raise RawInputError(f"row {row}: value {frame['value'][row]!r} of '{frame['variable'][row]}' is not a number")
    known = set(preprocessing["variables"])
    unknown = sorted(set(frame["variable"].astype(str)) - known)
    if unknown:
        raise RawInputError(f"unknown variables {unknown[:10]}; the model knows {sorted(known)}")
    raw = long_csv_to_raw(frame, "<request>")
    # ``ranges``: the plausibility ranges of the dataset the model was trained on (its task's).
    clean, _labels, quarantine, _report = validate_long(raw, None, ranges)
    if len(quarantine):
        reasons = "; ".join(quarantine["record_id"].astype(str) + ": " + quarantine["reason"].astype(str))
        shown = "; ".join(reasons.split("; ")[:_SHOWN_PROBLEMS])
        raise RawInputError(f"{len(quarantine)} observation(s) refused: {shown}")
    return clean


def placeholder_target(task_kind: str, length: int):
    """Samples need a ``y`` of the right shape; prediction never reads it."""
    return np.zeros(length, dtype=np.float32) if task_kind in ("tagging", "forecast") else 0


def vitals_samples(
    clean: pd.DataFrame, preprocessing: dict, task_kind: str
) -> tuple[list[str], list[dict], list[np.ndarray]]:
    """``(patient_ids, samples, times)`` with the training normalisation applied.

    Mortality steps are each patient's observed times within ``max_hours``, binned to
    ``step_hours`` when training did, and the features are training's ``channels``;
    sepsis steps are the observed hours (training used the .psv rows, which are the same hours
    whenever every row has a measurement, as PhysioNet's always do: Age/Gender are repeated).
    """
    encoded = encode_like(clean, preprocessing)
    patients = sorted(encoded)
    samples, times = [], []
    for patient in patients:
        sequence, x = encoded[patient]
        samples.append({"x": x, "y": placeholder_target(task_kind, len(x)), "length": len(x)})
        times.append(sequence["times"])
    return patients, samples, times
