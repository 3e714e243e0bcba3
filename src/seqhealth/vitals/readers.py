"""Readers for PhysioNet 2012 (long ``Time,Parameter,Value``), PhysioNet 2019 (``.psv``) and
plain long CSV. Everything is read as strings: parsing and judging values is validation's job,
so a bad cell becomes a quarantine row instead of a crash or a silent NaN.

A file that cannot be read as its format at all raises ``quality.DataFormatError`` naming it.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pandas as pd

from seqhealth.quality import DataFormatError
from seqhealth.vitals.long_columnar import read_long_files
from seqhealth.vitals.psv_columnar import FileListing, read_psv_files
from seqhealth.vitals.schema import P2012_HEADER, PSV_LABEL, PSV_TIME

RAW_OBSERVATION_COLUMNS = ["source_file", "patient_id", "time", "variable", "value"]
LONG_CSV_COLUMNS = ["patient_id", "time", "variable", "value"]
LONG_OUTCOME_COLUMNS = ["patient_id", "label"]
_OUTCOMES_GLOB = "Outcomes*.txt"
_INTEGER_ID = re.compile(r"^\+?\d+(\.0*)?$")


def normalise_patient_ids(ids) -> pd.Series:
    """One spelling per patient in every table (file names, observations, outcomes).

    Surrounding whitespace is dropped, and an id that is an integer written any way
    (``0132545``, ``132545.0``, ``+132545``) becomes its plain decimal form ``132545``, because
    spreadsheets and CSV writers turn integer ids into floats or pad them. Any other id
    (``p000001``, ``A-17``) is kept as written: only numbers are known to be equal across those
    spellings. Two files whose ids normalise alike are then a duplicate patient (quarantined).
    """
    ids = pd.Series(ids, dtype=object).astype(str).str.strip()
    integer = ids.str.match(_INTEGER_ID)
    digits = ids.str.lstrip("+").str.split(".", n=1).str[0].str.lstrip("0").replace("", "0")
    return ids.where(~integer, digits)


def normalise_patient_id(value: str) -> str:
    """``normalise_patient_ids`` for one id (per file name: no pandas overhead per file)."""
    value = str(value).strip()
    if _INTEGER_ID.match(value):
        return value.lstrip("+").split(".", 1)[0].lstrip("0") or "0"
    return value


# Extensions are matched case-insensitively (``1001.TXT``, ``p0001.PSV``: some exports upper-case
# them), optionally gzip-compressed (``.txt.gz``); pandas decompresses by the same suffix.
def data_files(directory: Path, extension: str) -> tuple[list[Path], list[Path]]:
    """``(matching, other)`` files under ``directory`` (recursive, sorted); ``other`` lists every
    file that is not ``*<extension>[.gz]`` in any letter case, so a report can name it."""
    matching, other = [], []
    found = [os.path.join(root, name) for root, _dirs, names in os.walk(directory) for name in names]
    # Sorted as Paths sort (by their parts), without building a Path per comparison.
    for name in sorted((f for f in found if os.path.isfile(f)), key=lambda f: f.split(os.sep)):
        path = Path(name)
        (matching if file_stem(path, extension) is not None else other).append(path)
    return matching, other


def file_stem(path: Path, extension: str) -> str | None:
    """The name without ``extension`` (+ ``.gz``), any case; None when the name lacks it."""
    name = os.path.basename(os.fspath(path))
    lower = name.lower()
    for suffix in (extension, extension + ".gz"):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def is_outcomes_file(path: Path) -> bool:
    return Path(path).name.lower().startswith("outcomes") and file_stem(path, ".txt") is not None


def _read_str_csv(path: Path, sep: str) -> pd.DataFrame:
    """CSV with every cell a string; empty cells stay "" so validation sees them."""
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as error:
        raise DataFormatError(path, f"cannot be parsed: {error}") from error
    except pd.errors.EmptyDataError as error:
        raise DataFormatError(path, "empty file (no header)") from error
    except FileNotFoundError as error:
        raise DataFormatError(path, "no such file") from error


def _require_directory(path: Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DataFormatError(path, "is not a directory")
    return path


# ---------------------------------------------------------------------- PhysioNet 2012
def patient_id_of(path: Path, extension: str) -> str:
    """Patient id of a per-patient file: its name without the extension, normalised."""
    stem = file_stem(path, extension)  # the name as text: no Path per file of a large cohort
    return normalise_patient_id(stem if stem is not None else Path(path).stem)


def read_2012_file(path: Path) -> pd.DataFrame:
    """One ``<RecordID>.txt`` -> raw observations (all str); patient_id = the file stem."""
    path = Path(path)
    frame = _read_str_csv(path, ",")
    if list(frame.columns) != P2012_HEADER:
        raise DataFormatError(path, f"header {list(frame.columns)} is not {','.join(P2012_HEADER)}")
    return pd.DataFrame(
        {
            "source_file": str(path),
            "patient_id": patient_id_of(path, ".txt"),
            "time": frame["Time"].to_numpy(),
            "variable": frame["Parameter"].to_numpy(),
            "value": frame["Value"].to_numpy(),
        },
        columns=RAW_OBSERVATION_COLUMNS,
    )


def read_2012_files(paths: list[Path]) -> pd.DataFrame:
    """Patient files (sorted; a whole folder's or one partition's, ``vitals.partitions``) -> one raw
    observations frame, by one columnar scan (``vitals.long_columnar``)."""
    return read_long_files(paths, [patient_id_of(p, ".txt") for p in paths], P2012_HEADER, read_2012_file)


def read_2012_outcomes(paths: list[Path]) -> pd.DataFrame:
    """Concatenate ``Outcomes*.txt`` files -> ``patient_id, label, <other columns>, source_file``."""
    frames = []
    for path in paths:
        frame = _read_str_csv(path, ",")
        missing = [c for c in ("RecordID", "In-hospital_death") if c not in frame.columns]
        if missing:
            raise DataFormatError(path, f"outcomes file lacks columns {missing}")
        frame = frame.rename(columns={"RecordID": "patient_id", "In-hospital_death": "label"})
        frame["patient_id"] = normalise_patient_ids(frame["patient_id"]).to_numpy()
        frame["source_file"] = str(path)
        frames.append(frame)
    outcomes = pd.concat(frames, ignore_index=True)
    first = ["patient_id", "label"]
    return outcomes[first + [c for c in outcomes.columns if c not in first]]


def list_2012_directory(directory: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """``(patient files, outcomes files, ignored files)`` under a 2012 folder (recursive, sorted);
    a folder without either kind of file is refused, naming it."""
    directory = _require_directory(directory)
    all_txt, ignored = data_files(directory, ".txt")
    outcome_paths = [p for p in all_txt if is_outcomes_file(p)]
    patient_paths = [p for p in all_txt if not is_outcomes_file(p)]
    if not outcome_paths:
        raise DataFormatError(directory, f"no {_OUTCOMES_GLOB} file found under the directory")
    if not patient_paths:
        raise DataFormatError(directory, "no patient *.txt file found under the directory")
    return patient_paths, outcome_paths, ignored


def read_2012_directory(directory: Path) -> dict[str, pd.DataFrame]:
    """All patient files under ``directory`` (recursive, sorted) plus its outcomes file(s).

    Returns ``observations`` (raw long frame), ``outcomes``, ``patients`` (one row per patient
    file, so that a file with a header and no rows is still seen by validation) and
    ``ignored_files`` (files that are not ``*.txt[.gz]``, named in the ingest report).
    """
    patient_paths, outcome_paths, ignored = list_2012_directory(directory)
    return {
        "observations": read_2012_files(patient_paths),
        "outcomes": read_2012_outcomes(outcome_paths),
        "patients": patients_frame(patient_paths, ".txt"),
        "ignored_files": [str(p) for p in ignored],
    }


def _file_or_folder(path: Path, extension: str) -> tuple[list[Path], list[Path]]:
    path = Path(path)
    if path.is_file():
        return [path], []
    return data_files(_require_directory(path), extension)


def read_2012_for_prediction(path: Path) -> dict:
    """Patient files to score (one file, or a folder as ``read_2012_directory`` reads it, with
    ``Outcomes*.txt`` optional and skipped) -> ``observations, outcomes=None, patients,
    ignored_files``. Give ``validate_long`` the ``patients`` so the 48 h window applies."""
    files, ignored = _file_or_folder(path, ".txt")
    patient_paths = [p for p in files if not is_outcomes_file(p)]
    if not patient_paths:
        raise DataFormatError(path, "no patient *.txt file found")
    return {
        "observations": read_2012_files(patient_paths),
        "outcomes": None,
        "patients": patients_frame(patient_paths, ".txt"),
        "ignored_files": [str(p) for p in ignored],
    }


def read_2019_for_prediction(path: Path) -> pd.DataFrame:
    """``.psv`` files to score (one file or a folder), ``SepsisLabel`` optional: the wide frame
    of ``read_2019_directory`` with its ``attrs``."""
    return _wide_2019(*_file_or_folder(path, ".psv"), path, label_optional=True)


def patients_frame(paths: list[Path], extension: str) -> pd.DataFrame:
    """``source_file, patient_id`` per patient file (ids as ``read_2012_file`` spells them)."""
    return pd.DataFrame(
        {"source_file": [str(p) for p in paths],
         "patient_id": [patient_id_of(p, extension) for p in paths]}, dtype=object,
    )  # fmt: skip


# ---------------------------------------------------------------------- PhysioNet 2019
def read_2019_file(path: Path, label_optional: bool = False) -> pd.DataFrame:
    """One ``pNNNNNN.psv`` -> ``source_file, patient_id, row`` + the file's columns (str).

    ``label_optional`` (scoring): ``SepsisLabel`` may be absent or blank; it is set to a ``0``
    placeholder, which validation needs and prediction never reads.
    """
    path = Path(path)
    frame = _read_str_csv(path, "|")
    if label_optional:
        frame[PSV_LABEL] = "0"
    missing = [c for c in (PSV_TIME, PSV_LABEL) if c not in frame.columns]
    if missing:
        header = ",".join(map(str, frame.columns))[:120]
        raise DataFormatError(
            path, f"not a pipe-separated PhysioNet 2019 file: header lacks {missing} ({header})"
        )
    frame.insert(0, "row", range(len(frame)))
    frame.insert(0, "patient_id", patient_id_of(path, ".psv"))
    frame.insert(0, "source_file", str(path))
    return frame


def read_2019_directory(directory: Path) -> pd.DataFrame:
    """All ``*.psv`` under ``directory`` (recursive, sorted) as one wide frame, read by one
    columnar Polars scan per distinct header (``vitals.psv_columnar``).

    ``frame.attrs["files"]`` lists every file with its own columns, so validation can tell a
    header-only file and a file missing a column apart from a concatenation artefact.
    """
    directory = _require_directory(directory)
    return _wide_2019(*data_files(directory, ".psv"), directory)


def read_2019_files(paths: list[Path], where: Path, ignored=()) -> pd.DataFrame:
    """Given ``.psv`` files (sorted) as ``read_2019_directory`` reads a folder of them (one
    partition of a cohort, ``vitals.partitions``); ``where`` names the folder in errors."""
    return _wide_2019(paths, list(ignored), where)


def _wide_2019(paths, ignored, where, label_optional: bool = False) -> pd.DataFrame:
    if not paths:
        raise DataFormatError(where, "no *.psv file found under the directory")
    ids = [patient_id_of(p, ".psv") for p in paths]
    wide, columns = read_psv_files(paths, ids, read_2019_file, label_optional, PSV_TIME, PSV_LABEL)
    wide.attrs["files"] = FileListing(
        {"source_file": str(p), "patient_id": pid, "columns": cols}
        for p, pid, cols in zip(paths, ids, columns, strict=True)
    )
    wide.attrs["ignored_files"] = [str(p) for p in ignored]
    return wide


# ---------------------------------------------------------------------- plain long CSV
_HHMM = re.compile(r"^\d+:\d{2}$")
# ISO 8601 date-times (``2020-01-01T08:00``, ``2020-01-01 08:00:00+01:00``); a bare date is not
# a chart time, so it is left as text and quarantined as an unparsable time.
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)


def iso_times_to_hours(patient_ids: pd.Series, times: pd.Series) -> pd.Series:
    """ISO date-times -> hours since each patient's first valid date-time, as text.

    Only cells that are ISO date-times are converted (anything else is returned unchanged, so
    validation still quarantines it as an unparsable time). Offsets are honoured and naive
    times are taken as UTC, so a patient mixing both stays on one clock.
    """
    text = times.astype(str).str.strip()
    is_iso = text.str.match(_ISO_DATETIME)
    if not is_iso.any():
        return times
    stamps = pd.to_datetime(text.where(is_iso), format="ISO8601", utc=True, errors="coerce")
    first = stamps.groupby(patient_ids.to_numpy()).transform("min")
    hours = (stamps - first).dt.total_seconds() / 3600.0
    converted = hours.map(lambda h: repr(float(h)), na_action="ignore")
    return times.where(~is_iso | hours.isna(), converted)


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing} (has {list(frame.columns)})")


def long_csv_to_raw(frame: pd.DataFrame, source_file: str = "<long csv>") -> pd.DataFrame:
    """Plain long CSV (``patient_id, time, variable, value``; time in hours, ``HH:MM`` or ISO
    date-times) -> the raw observations frame of the 2012 path (all str), validated by the same
    code. Patient ids are normalised (``normalise_patient_ids``); ISO date-times become hours
    since the patient's first date-time (``iso_times_to_hours``)."""
    _require_columns(frame, LONG_CSV_COLUMNS, f"long CSV {source_file}")
    source = frame["source_file"] if "source_file" in frame.columns else source_file
    patient_ids = normalise_patient_ids(frame["patient_id"])
    out = pd.DataFrame(
        {
            "source_file": source,
            "patient_id": patient_ids,
            "time": iso_times_to_hours(patient_ids, frame["time"].astype(str)),
            "variable": frame["variable"].astype(str),
            "value": frame["value"].astype(str),
        },
        columns=RAW_OBSERVATION_COLUMNS,
    )
    return out.reset_index(drop=True)


def long_outcomes(frame: pd.DataFrame, source_file: str = "<outcomes csv>") -> pd.DataFrame:
    """Outcomes CSV ``patient_id,label`` -> the outcomes frame validation expects (str)."""
    _require_columns(frame, LONG_OUTCOME_COLUMNS, f"outcomes CSV {source_file}")
    out = frame.astype(str).reset_index(drop=True)
    out["patient_id"] = normalise_patient_ids(out["patient_id"])
    if "source_file" not in out.columns:
        out["source_file"] = source_file
    return out


def read_long_csv(path: Path, outcomes_path: Path | None = None) -> dict[str, pd.DataFrame]:
    """Read a long CSV (and optional outcomes CSV) into the 2012-style raw dict."""
    path = Path(path)
    raw = _read_str_csv(path, ",")
    try:
        observations = long_csv_to_raw(raw, str(path))
    except ValueError as error:
        raise DataFormatError(path, str(error)) from error
    outcomes = (
        long_outcomes(_read_str_csv(Path(outcomes_path), ","), str(outcomes_path))
        if outcomes_path is not None
        else pd.DataFrame(columns=LONG_OUTCOME_COLUMNS + ["source_file"])
    )
    return {"observations": observations, "outcomes": outcomes}


def parse_hours(times: pd.Series) -> pd.Series:
    """``HH:MM`` or a number of hours -> float hours; NaN where unparsable (validation
    quarantines those). Vectorised: one regex split instead of a Python loop."""
    times = times.astype(str).str.strip()
    is_hhmm = times.str.match(_HHMM)
    parts = times.where(is_hhmm).str.split(":", expand=True)
    hours = pd.Series(float("nan"), index=times.index)
    if is_hhmm.any():
        hhmm = (
            pd.to_numeric(parts[0], errors="coerce")
            + pd.to_numeric(parts[1], errors="coerce") / 60.0
        )
        bad_minutes = pd.to_numeric(parts[1], errors="coerce") >= 60
        hours = hhmm.where(is_hhmm & ~bad_minutes, hours)
    numeric = pd.to_numeric(times.where(~is_hhmm), errors="coerce")
    return hours.where(is_hhmm, numeric).astype(float)
