"""The PhysioNet 2019 ingest as it was before issue 21 (per-file pandas reads, per-cell object
arrays), kept only as the reference that ``test_columnar_equivalence`` compares the columnar path
against. Not used by the package."""
# ruff: noqa
from __future__ import annotations

from pathlib import Path

from seqhealth.vitals.readers import data_files, patient_id_of, read_2019_file


def legacy_read_2019_directory(directory: Path) -> pd.DataFrame:
    paths, ignored = data_files(Path(directory), ".psv")
    frames = [read_2019_file(p) for p in paths]
    wide = pd.concat(frames, ignore_index=True)
    wide.attrs["files"] = [
        {"source_file": str(p), "patient_id": patient_id_of(p, ".psv"), "columns": list(f.columns[3:])}
        for p, f in zip(paths, frames, strict=True)
    ]
    wide.attrs["ignored_files"] = [str(p) for p in ignored]
    return wide


# ---------------------------------------------------------------- validate_2019 before issue 21
import numpy as np
import pandas as pd

from seqhealth.quality import QuarantineLog
from seqhealth.vitals.accounting import DOMAIN, ObservationFlags, finish_report, range_violations
from seqhealth.vitals.schema import (
    PSV_COLUMNS,
    PSV_FEATURES,
    PSV_LABEL,
    PSV_MAX_FIRST_ICULOS,
    PSV_MAX_ICULOS_STEP,
    PSV_TIME,
    RANGES_2019,
)

_MISSING_CELLS = ("", "NaN", "nan", "NA", "N/A", "null")
_META = ("source_file", "patient_id", "row")


def _file_listing(wide: pd.DataFrame) -> list[dict]:
    """Files with their own columns (``attrs`` from the loader, else inferred from the frame)."""
    if wide.attrs.get("files"):
        return wide.attrs["files"]
    listing = []
    for source, rows in wide.groupby("source_file", sort=False):
        present = [c for c in rows.columns if c not in _META and rows[c].notna().any()]
        listing.append({"source_file": source, "patient_id": rows["patient_id"].iloc[0],
                        "columns": present})  # fmt: skip
    return listing


def _iculos_sequence_problems(valid: pd.Series, file: pd.Series) -> np.ndarray:
    """Reason per row whose integer ICULOS breaks the stay's hour sequence, else None.

    Rows are judged in file order against the last *accepted* row, so one mistyped hour costs
    one row, not the rest of the stay: below 1, a first row beyond ``PSV_MAX_FIRST_ICULOS``,
    not increasing, or a step beyond ``PSV_MAX_ICULOS_STEP`` hours. Files whose rows all pass
    the vectorised check (all real exports) skip the per-row loop.
    """
    reasons = np.full(len(valid), None, dtype=object)
    has_value = valid.notna().to_numpy()
    step = valid[has_value].groupby(file[has_value]).diff()
    value = valid[has_value]
    good = np.where(step.isna(), (value >= 1) & (value <= PSV_MAX_FIRST_ICULOS),
                    (step >= 1) & (step <= PSV_MAX_ICULOS_STEP))  # fmt: skip
    bad_files = set(file[has_value][~good])
    for _source, rows in valid[file.isin(bad_files) & has_value].groupby(file, sort=False):
        last = None
        for index, hour in rows.items():
            if hour < 1:
                why = "is negative" if hour < 0 else "is below 1 (the first hour of a stay)"
            elif last is None and hour > PSV_MAX_FIRST_ICULOS:
                why = f"starts the stay beyond hour {PSV_MAX_FIRST_ICULOS}"
            elif last is not None and hour <= last:
                why = f"is not increasing (previous {last:g})"
            elif last is not None and hour - last > PSV_MAX_ICULOS_STEP:
                why = f"jumps from {last:g} by more than {PSV_MAX_ICULOS_STEP} h"
            else:
                last = hour
                continue
            reasons[index] = f"ICULOS {hour:g} {why}"
    return reasons


def _row_problems(wide: pd.DataFrame, dropped_file: np.ndarray):
    """Per-row (field, reason) for bad ICULOS (non-integer, out of sequence) or SepsisLabel."""
    text = wide[PSV_TIME].fillna("").astype(str)
    iculos = pd.to_numeric(text.str.strip(), errors="coerce")
    integer = np.isfinite(iculos) & (iculos == np.round(iculos)) & ~dropped_file
    sequence = _iculos_sequence_problems(iculos.where(integer), wide["source_file"])
    field = np.full(len(wide), None, dtype=object)
    reason = np.full(len(wide), None, dtype=object)
    label_text = wide[PSV_LABEL].fillna("").astype(str)
    label = pd.to_numeric(label_text.str.strip(), errors="coerce")
    bad_label = (~label.isin([0, 1])).to_numpy()
    row_text = "row " + wide["row"].astype(str) + ": "
    checks = [
        (~integer.to_numpy(), PSV_TIME, row_text + "ICULOS '" + text + "' is not an integer"),
        (~pd.isna(sequence), PSV_TIME, row_text + sequence.astype(str)),
        (bad_label, PSV_LABEL, row_text + "SepsisLabel '" + label_text + "' is not 0/1"),
    ]  # fmt: skip
    for mask, name, why in checks:
        selected = mask & pd.isna(field) & ~dropped_file
        field[selected] = name
        reason[selected] = np.asarray(why, dtype=object)[selected]
    return field, reason, iculos.to_numpy(dtype=float), label.to_numpy(dtype=float)


def legacy_validate_2019(wide: pd.DataFrame, ranges=RANGES_2019):
    """``PhysioNet2019Dataset`` wide frame -> ``(clean_long, hourly_labels[patient_id, time_h,
    label], quarantine, report)``."""
    wide = wide.reset_index(drop=True)
    context = QuarantineLog(DOMAIN)
    files = _file_listing(wide)
    for column in (PSV_TIME, PSV_LABEL):
        if column not in wide.columns:
            wide[column] = None  # only possible for a hand-made frame; flagged per file below

    # File level: missing columns, duplicate patient ids (first file in sorted order wins).
    dropped_files: dict[str, str] = {}  # source_file -> field
    seen: dict[str, str] = {}
    for entry in files:
        source, patient = entry["source_file"], entry["patient_id"]
        missing = [c for c in PSV_COLUMNS if c not in entry["columns"]]
        if patient in seen:
            dropped_files[source] = "patient_id"
            context.add(
                source,
                patient,
                "patient_id",
                f"duplicate patient id {patient}: already read from {seen[patient]}",
            )
        elif missing:
            dropped_files[source] = "columns"
            context.add(source, patient, "columns", f"missing columns: {', '.join(missing)}")
        seen.setdefault(patient, source)
    file_field = wide["source_file"].map(dropped_files)
    dropped_file = file_field.notna().to_numpy()

    row_field, row_reason, iculos, label = _row_problems(wide, dropped_file)
    for i in np.flatnonzero(~pd.isna(row_field)):
        context.add(wide.at[i, "source_file"], f"{wide.at[i, 'patient_id']}/row{wide.at[i, 'row']}",
                    row_field[i], row_reason[i])  # fmt: skip

    # Observations: non-missing cells of the feature columns, in file order.
    features = [c for c in PSV_FEATURES if c in wide.columns]
    cells = wide[features].to_numpy(dtype=object)
    present = ~pd.isna(cells) & ~np.isin(cells.astype(str), _MISSING_CELLS)
    row_idx, col_idx = np.nonzero(present)
    obs = pd.DataFrame({
        "source_file": wide["source_file"].to_numpy()[row_idx],
        "patient_id": wide["patient_id"].to_numpy()[row_idx],
        "row": wide["row"].to_numpy()[row_idx],
        "variable": np.asarray(features, dtype=object)[col_idx],
        "value": cells[row_idx, col_idx].astype(str),
    })  # fmt: skip
    flags = ObservationFlags(len(obs))
    file_reason = {"patient_id": "patient id already read from another file",
                   "columns": "file is missing required columns"}  # fmt: skip
    obs_file_field = file_field.to_numpy()[row_idx]
    for name, why in file_reason.items():
        flags.flag(obs_file_field == name, name, why)
    flags.flag(~pd.isna(row_field[row_idx]), "row", row_reason[row_idx])
    flags.field[flags.field == "row"] = row_field[row_idx][flags.field == "row"]
    values = pd.to_numeric(obs["value"].str.strip(), errors="coerce").to_numpy(dtype=float)
    flags.flag(~np.isfinite(values), "value",
               "non-numeric value '" + obs["value"] + "' for " + obs["variable"])  # fmt: skip
    outside, range_text = range_violations(obs["variable"], values, ranges)
    flags.flag(outside, "value", obs["variable"] + "=" + obs["value"]
               + " outside plausible range " + range_text)  # fmt: skip

    # Patient level: a stay needs at least one kept observation.
    alive_patients = set(obs["patient_id"][flags.alive])
    empty = [
        e
        for e in files
        if e["source_file"] not in dropped_files and e["patient_id"] not in alive_patients
    ]
    for entry in empty:
        context.add(
            entry["source_file"],
            entry["patient_id"],
            "patient",
            "patient has no valid observation (no rows, all missing or all quarantined)",
        )
    row_ok = pd.isna(row_field) & ~dropped_file & wide["patient_id"].isin(alive_patients).to_numpy()

    alive = flags.alive
    time_h = iculos[row_idx]
    clean = pd.DataFrame({"patient_id": obs["patient_id"][alive].to_numpy(),
                          "time_h": time_h[alive], "variable": obs["variable"][alive].to_numpy(),
                          "value": values[alive]})  # fmt: skip
    labels = pd.DataFrame(
        {
            "patient_id": wide["patient_id"][row_ok].to_numpy(),
            "time_h": iculos[row_ok],
            "label": label[row_ok].astype(int),
        }
    )
    record_id = obs["patient_id"] + "/row" + obs["row"].astype(str) + "/" + obs["variable"]
    rows_bad = int((~pd.isna(row_field)).sum())
    septic = labels.groupby("patient_id")["label"].max()
    quarantine, report = finish_report(
        flags, obs, clean, obs["source_file"], record_id, context,
        patients_in=len(files), patients_kept=int(clean["patient_id"].nunique()),
        rows_in=len(wide), rows_kept=int(row_ok.sum()), rows_quarantined=rows_bad,
        rows_of_quarantined_patients=len(wide) - int(row_ok.sum()) - rows_bad,
        positive_rows=int(labels["label"].sum()), septic_patients=int(septic.sum()),
        unknown_columns=sorted(set(wide.columns) - set(PSV_COLUMNS) - set(_META)),
        files_ignored=list(wide.attrs.get("ignored_files", [])),
    )  # fmt: skip
    return clean, labels, quarantine, report
