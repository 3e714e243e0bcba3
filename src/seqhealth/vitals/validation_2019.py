"""Validation of PhysioNet 2019 ``.psv`` wide frames (accounting rules: ``vitals.validation``).

Observations are the non-missing cells of the feature columns; ``ICULOS`` is the time axis
(``time_h = ICULOS``) and ``SepsisLabel`` the per-hour label, neither is a feature. Hourly rows
are reported too: ``rows_in == rows_kept + rows_quarantined + rows_of_quarantined_patients``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from seqhealth.quality import QuarantineLog
from seqhealth.vitals.accounting import DOMAIN, ObservationFlags, finish_report
from seqhealth.vitals.cells import numbers, present_mask, text_array
from seqhealth.vitals.schema import (
    PSV_COLUMNS,
    PSV_FEATURES,
    PSV_LABEL,
    PSV_MAX_FIRST_ICULOS,
    PSV_MAX_ICULOS_STEP,
    PSV_TIME,
    RANGES_2019,
)

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
    """Per-row (field, reason) for bad ICULOS (non-integer, out of sequence) or SepsisLabel;
    reasons are written only for the rows that have one."""
    time_text, label_text = text_array(wide[PSV_TIME]), text_array(wide[PSV_LABEL])
    iculos, label = numbers(time_text), numbers(label_text)
    integer = np.isfinite(iculos) & (iculos == np.round(iculos)) & ~dropped_file
    sequence = _iculos_sequence_problems(pd.Series(np.where(integer, iculos, np.nan)), wide["source_file"])
    field = np.full(len(wide), None, dtype=object)
    reason = np.full(len(wide), None, dtype=object)
    bad_label = ~np.isin(label, [0, 1])
    checks = [
        (~integer, PSV_TIME, lambda i: f"ICULOS '{time_text[i].as_py() or ''}' is not an integer"),
        (~pd.isna(sequence), PSV_TIME, lambda i: str(sequence[i])),
        (bad_label, PSV_LABEL, lambda i: f"SepsisLabel '{label_text[i].as_py() or ''}' is not 0/1"),
    ]  # fmt: skip
    rows = wide["row"].to_numpy()
    for mask, name, why in checks:
        selected = np.flatnonzero(mask & pd.isna(field) & ~dropped_file)
        field[selected] = name
        reason[selected] = [f"row {rows[i]}: {why(i)}" for i in selected]
    return field, reason, iculos, label


def validate_2019(wide: pd.DataFrame, ranges=RANGES_2019):
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
        have = set(entry["columns"])
        missing = [c for c in PSV_COLUMNS if c not in have]
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
    file_field = wide["source_file"].map(dropped_files) if dropped_files else pd.Series(np.nan, index=wide.index)
    dropped_file = file_field.notna().to_numpy()

    row_field, row_reason, iculos, label = _row_problems(wide, dropped_file)
    for i in np.flatnonzero(~pd.isna(row_field)):
        context.add(wide.at[i, "source_file"], f"{wide.at[i, 'patient_id']}/row{wide.at[i, 'row']}",
                    row_field[i], row_reason[i])  # fmt: skip

    # Observations: non-missing cells of the feature columns, in file order (row-major), judged
    # column by column on Arrow arrays; reason and record texts only for quarantined cells.
    features = [c for c in PSV_FEATURES if c in wide.columns]
    texts = [text_array(wide[c]) for c in features]
    shape = (len(wide), len(features))
    present, parsed, inside = np.empty(shape, bool, order="F"), np.empty(shape, order="F"), np.ones(shape, bool, order="F")
    for j, (name, text) in enumerate(zip(features, texts, strict=True)):
        present[:, j], parsed[:, j] = present_mask(text), numbers(text)
        if name in ranges:
            inside[:, j] = ranges[name].contains(parsed[:, j])
    row_idx, col_idx = np.nonzero(present)  # row-major: file order
    values = parsed[row_idx, col_idx]
    del present, parsed
    names = np.asarray(features, dtype=object)

    def cell(i: int) -> str:
        return texts[col_idx[i]][row_idx[i]].as_py()

    flags = ObservationFlags(len(row_idx))
    file_reason = {"patient_id": "patient id already read from another file",
                   "columns": "file is missing required columns"}  # fmt: skip
    for name, why in file_reason.items():
        if name in dropped_files.values():
            flags.flag((file_field == name).to_numpy()[row_idx], name, why)
    bad_row = ~pd.isna(row_field)
    selected = bad_row[row_idx] & flags.alive if bad_row.any() else np.zeros(len(row_idx), bool)
    flags.field[selected] = row_field[row_idx[selected]]
    flags.reason[selected] = row_reason[row_idx[selected]]

    def lazy(mask, text) -> np.ndarray:
        """Reasons for the still-unflagged cells of ``mask`` only."""
        out = np.full(len(row_idx), None, dtype=object)
        chosen = np.flatnonzero(np.asarray(mask, dtype=bool) & flags.alive)
        out[chosen] = [text(i) for i in chosen]
        return out

    non_numeric = ~np.isfinite(values)
    if non_numeric.any():
        flags.flag(non_numeric, "value",
                   lazy(non_numeric, lambda i: f"non-numeric value '{cell(i)}' for {names[col_idx[i]]}"))  # fmt: skip
    outside = ~inside[row_idx, col_idx]
    if outside.any():
        flags.flag(outside, "value", lazy(outside, lambda i: f"{names[col_idx[i]]}={cell(i)} outside plausible "
                                                             f"range {ranges[names[col_idx[i]]]}"))  # fmt: skip

    # Patient level: a stay needs at least one kept observation.
    patient_of_row = wide["patient_id"].to_numpy()
    alive = flags.alive
    row_alive = np.zeros(len(wide), bool)
    row_alive[row_idx[alive]] = True
    alive_patients = set(pd.unique(patient_of_row[row_alive]))
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

    kept_rows = row_idx[alive]
    clean = pa.table({"patient_id": text_array(wide["patient_id"]).take(kept_rows), "time_h": iculos[kept_rows],
                      "variable": pa.array(features, pa.large_string()).take(col_idx[alive]),
                      "value": values[alive]}).to_pandas()  # Arrow-backed text: no Python strings per cell
    labels = pd.DataFrame(
        {
            "patient_id": wide["patient_id"][row_ok].to_numpy(),
            "time_h": iculos[row_ok],
            "label": label[row_ok].astype(int),
        }
    )
    flagged = np.flatnonzero(~pd.isna(flags.field))
    record_id = np.full(len(row_idx), None, dtype=object)
    source = np.full(len(row_idx), None, dtype=object)
    row_no, file_of_row = wide["row"].to_numpy(), wide["source_file"].to_numpy()
    record_id[flagged] = [f"{patient_of_row[row_idx[i]]}/row{row_no[row_idx[i]]}/{names[col_idx[i]]}" for i in flagged]
    source[flagged] = file_of_row[row_idx[flagged]]
    rows_bad = int((~pd.isna(row_field)).sum())
    septic = labels.groupby("patient_id")["label"].max()
    quarantine, report = finish_report(
        flags, row_idx, clean, source, record_id, context,
        patients_in=len(files), patients_kept=int(clean["patient_id"].nunique()),
        rows_in=len(wide), rows_kept=int(row_ok.sum()), rows_quarantined=rows_bad,
        rows_of_quarantined_patients=len(wide) - int(row_ok.sum()) - rows_bad,
        positive_rows=int(labels["label"].sum()), septic_patients=int(septic.sum()),
        unknown_columns=sorted(set(wide.columns) - set(PSV_COLUMNS) - set(_META)),
        files_ignored=list(wide.attrs.get("ignored_files", [])),
    )  # fmt: skip
    return clean, labels, quarantine, report
