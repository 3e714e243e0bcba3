"""Validation of raw ICU vitals into the canonical long table
``patient_id:str, time_h:float, variable:str, value:float`` plus labels.

Accounting (how the report reconciles)
--------------------------------------
The *record* is one observation: a ``Time,Parameter,Value`` row (2012 / long CSV) or a
non-missing cell of a feature column (2019; ``NaN`` cells are "not measured", not records).
Every observation ends in exactly one of three places:

* kept (a row of ``clean_long``);
* quarantined: exactly one *observation row* in the quarantine table (``record_id`` =
  ``patient/time/variable`` for 2012, ``patient/row<r>/variable`` for 2019), first reason wins;
* removed by a documented repair, counted in ``report["repairs"]``: exact duplicate rows,
  2012 ``-1`` "unknown" descriptors (treated as missing) and ``RecordID`` identifier rows.

``report["observations_in"] == observations_kept + observations_quarantined + sum(repairs)``.
``ingest_report`` is called with ``records_in = observations_in - sum(repairs)`` (the distinct
observations) and the observation rows only, so its ``records_in == kept + quarantined`` holds.

Problems of a whole patient, file, outcome or 2019 hourly row are *context rows* appended after
the observation rows (``record_id`` = the patient id, or ``patient/row<r>`` for a 2019 row):
patient without any time-series observation (field ``patient``), duplicate patient id across
files (``patient_id``), patient without an outcome / outcome without a patient (``label``),
2019 file missing columns (``columns``), bad ``ICULOS`` / ``SepsisLabel`` rows. The observations
of such a patient or row are *also* quarantined one by one with the same field, so nothing is lost
silently and a header-only file or an outcome with no patient still leaves a row.
``len(quarantine) == report["records_quarantined"] + report["context_rows"]``.

Repairs that keep every record: unsorted timestamps are sorted (``report["unsorted_patients"]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqhealth.quality import DataFormatError, QuarantineLog
from seqhealth.vitals.accounting import (
    CLEAN_COLUMNS,
    DOMAIN,
    ObservationFlags,
    finish_report,
)
from seqhealth.vitals.cells import numbers, per_distinct, text_array
from seqhealth.vitals.readers import normalise_patient_ids, parse_hours
from seqhealth.vitals.schema import (
    LONG_MAX_HOURS,
    P2012_DESCRIPTORS,
    P2012_MAX_HOURS,
    P2012_STATIC,
    P2012_UNKNOWN_DESCRIPTOR,
    RANGES_2012,
    ValueRange,
)
from seqhealth.vitals.validation_2019 import validate_2019


def _first_file_per_patient(patients: pd.DataFrame) -> pd.Series:
    return patients.drop_duplicates("patient_id").set_index("patient_id")["source_file"]


def validate_long(
    raw_obs: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    ranges: dict[str, ValueRange] = RANGES_2012,
    patients: pd.DataFrame | None = None,
    max_time_h: float | None = None,
):
    """Raw long observations (+ outcomes ``patient_id, label``) ->
    ``(clean_long, labels[patient_id, label], quarantine, report)``.

    ``patients`` (``source_file, patient_id``) lists every patient file, including header-only
    ones; without it the patients are those with at least one observation row. Times must lie in
    ``[0, max_time_h]`` hours; by default ``P2012_MAX_HOURS`` when ``patients`` is given (per-patient
    2012 files, for training and prediction alike), else ``LONG_MAX_HOURS`` (plain long tables).
    """
    if max_time_h is None:
        max_time_h = P2012_MAX_HOURS if patients is not None else LONG_MAX_HOURS
    obs = raw_obs.reset_index(drop=True)
    if patients is None:
        patients = obs[["source_file", "patient_id"]].drop_duplicates()
    # A caller's own patients table (file stems) gets the readers' id spelling, so the files
    # and their observations stay paired (0132545.txt holds patient 132545).
    patients = patients.reset_index(drop=True).assign(
        patient_id=lambda frame: normalise_patient_ids(frame["patient_id"]).to_numpy()
    )
    flags = ObservationFlags(len(obs))
    context = QuarantineLog(DOMAIN)
    pid, var = obs["patient_id"].astype(str), obs["variable"].astype(str)
    time_s, value_s = obs["time"].astype(str), obs["value"].astype(str)
    # Per-row work is done per distinct patient / variable / text (codes into sorted distinct
    # values), and reason texts are written only for the rows they quarantine (callables).
    pid_code, pids = pd.factorize(pid, sort=True, use_na_sentinel=False)
    var_code, variables = pd.factorize(var, sort=True, use_na_sentinel=False)
    variables = pd.Series(variables, dtype=object)

    def var_in(names) -> np.ndarray:
        return variables.isin(list(names)).to_numpy()[var_code]

    def text(*parts):
        """Reasons for rows ``i``: the concatenation of literal strings and per-row columns."""
        def reasons(i):
            out = ""
            for part in parts:
                out = out + (part if isinstance(part, str) else part(i))
            return np.asarray(out, dtype=object)
        return reasons

    def rows_of(series):
        return lambda i: series.take(i).to_numpy(dtype=object)

    time_t, value_t, var_t, pid_t = rows_of(time_s), rows_of(value_s), rows_of(var), rows_of(pid)

    # Duplicate patient ids across files: the first file (sorted path order) wins.
    first_file = _first_file_per_patient(patients)
    for row in patients[patients.duplicated("patient_id")].itertuples():
        context.add(row.source_file, row.patient_id, "patient_id",
                    f"duplicate patient id {row.patient_id}: already read from "
                    f"{first_file[row.patient_id]}")  # fmt: skip
    source_code, sources = pd.factorize(obs["source_file"].astype(str), use_na_sentinel=False)
    pairs, pair_of_row = np.unique(pid_code.astype(np.int64) * (len(sources) + 1) + source_code, return_inverse=True)
    pair_pid, pair_source = pairs // (len(sources) + 1), pairs % (len(sources) + 1)
    expected = pd.Series(pids, dtype=object).map(first_file).to_numpy(dtype=object)
    later_pair = np.asarray(sources, dtype=object)[pair_source] != expected[pair_pid]
    flags.flag(later_pair[pair_of_row], "patient_id", "patient id already read from another file")

    blank = (pd.Series(pids, dtype=object).str.strip() == "").to_numpy()
    flags.flag(blank[pid_code], "patient_id", "blank patient id")
    # RecordID rows identify the patient; one that disagrees with the file name is suspect
    # (compared after the id normalisation the file name went through: 0132545 == 132545).
    is_id = (var_code == variables.tolist().index("RecordID")) if "RecordID" in variables.values else np.zeros(len(obs), bool)
    id_rows = np.flatnonzero(is_id)
    id_mismatch = np.zeros(len(obs), bool)
    id_mismatch[id_rows] = normalise_patient_ids(value_t(id_rows)).to_numpy() != pid_t(id_rows)
    flags.flag(id_mismatch, "RecordID", text("RecordID ", value_t, " != file name ", pid_t))
    flags.repair(is_id, "record_id_rows")

    hours = per_distinct(text_array(time_s), parse_hours)
    flags.flag(~np.isfinite(hours), "time", text("unparsable time '", time_t, "'"))
    flags.flag(hours < 0, "time", text("negative time '", time_t, "'"))
    flags.flag(hours > max_time_h, "time",
               text("time '", time_t, f"' beyond the {max_time_h:g} h bound of the format"))  # fmt: skip
    values = numbers(text_array(value_s))
    flags.flag(~np.isfinite(values), "value", text("non-numeric value '", value_t, "' for ", var_t))
    unknown = var_in(P2012_DESCRIPTORS[1:]) & (hours == 0) & (values == P2012_UNKNOWN_DESCRIPTOR)
    flags.repair(unknown, "unknown_descriptor_minus_1")
    flags.flag(~var_in(ranges), "variable", text("unknown variable '", var_t, "'"))
    outside = np.zeros(len(obs), bool)
    for name, value_range in ranges.items():
        if name in variables.values:
            rows = var_code == variables.tolist().index(name)
            outside[rows] = ~value_range.contains(values[rows])
    range_text = variables.map({k: str(v) for k, v in ranges.items()}).fillna("").to_numpy(dtype=object)
    flags.flag(outside, "value", text(var_t, "=", value_t, " outside plausible range ",
                                      lambda i: range_text[var_code[i]]))  # fmt: skip

    # Unsorted timestamps: a repair (stable sort keeps file order among equal times).
    alive = flags.alive
    live = pd.DataFrame({"pid": pid_code[alive], "h": hours[alive]})
    went_back = live.groupby("pid", sort=False)["h"].diff() < 0
    unsorted_patients = int(live.loc[went_back, "pid"].nunique())

    # Duplicate (patient, time, variable): identical value -> repair; different -> quarantine.
    order = np.lexsort((hours, pid_code))  # stable: file order among ties; codes sort as the ids
    live_order = order[alive[order]]
    keyed = pd.DataFrame({"pid": pid_code[live_order], "h": hours[live_order],
                          "var": var_code[live_order], "v": values[live_order]})  # fmt: skip
    first_value = keyed.groupby(["pid", "h", "var"], sort=False)["v"].transform("first").to_numpy()
    repeated = keyed.duplicated(["pid", "h", "var"]).to_numpy()
    same = repeated & (first_value == keyed["v"].to_numpy())
    exact, conflict = np.zeros(len(obs), bool), np.zeros(len(obs), bool)
    exact[live_order[same]] = True
    conflict[live_order[repeated & ~same]] = True
    kept_value = np.full(len(obs), np.nan)
    kept_value[live_order] = first_value
    flags.repair(exact, "exact_duplicate_rows")
    flags.flag(conflict, "value", text("conflicting duplicate of (", time_t, ", ", var_t, "): kept ",
                                       lambda i: np.asarray([f"{v:g}" for v in kept_value[i]], dtype=object),
                                       ", got ", value_t))  # fmt: skip

    # Patient level: at least one time-series observation must survive.
    static = var_in(P2012_STATIC) | (var_in(["Weight"]) & (hours == 0))
    has_series = np.zeros(len(pids), bool)
    has_series[pid_code[flags.alive & ~static]] = True
    with_series = set(np.asarray(pids, dtype=object)[has_series])
    for row in patients.drop_duplicates("patient_id").itertuples():
        if row.patient_id not in with_series:
            context.add(row.source_file, row.patient_id, "patient",
                        "patient has no valid time-series observation (only descriptors, "
                        "all missing or all quarantined)")  # fmt: skip
    flags.flag(~has_series[pid_code], "patient", "patient has no time-series data")

    labelled_of = lambda labelled: pd.Series(pids, dtype=object).isin(labelled).to_numpy()[pid_code]  # noqa: E731
    labels, counts = _match_outcomes(outcomes, with_series, first_file, flags, labelled_of, context)
    alive = np.flatnonzero(flags.alive)
    alive = alive[np.lexsort((hours[alive], pid_code[alive]))]  # by patient, then time; stable
    clean = pd.DataFrame({"patient_id": pid.take(alive).to_numpy(), "time_h": hours[alive],
                          "variable": var.take(alive).to_numpy(), "value": values[alive]})  # fmt: skip
    flagged = np.flatnonzero(~pd.isna(flags.field))
    record_id, source = np.full(len(obs), None, dtype=object), np.full(len(obs), None, dtype=object)
    record_id[flagged] = text(pid_t, "/", time_t, "/", var_t)(flagged)
    source[flagged] = obs["source_file"].take(flagged).to_numpy(dtype=object)
    quarantine, report = finish_report(
        flags, obs, clean, source, record_id, context,
        patients_in=int(patients["patient_id"].nunique()),
        patients_kept=int(clean["patient_id"].nunique()),
        unsorted_patients=unsorted_patients, **counts,
    )  # fmt: skip
    labels = labels[labels["patient_id"].isin(set(clean["patient_id"]))].reset_index(drop=True)
    report["positives"] = int(labels["label"].sum())
    return clean, labels, quarantine, report


def _match_outcomes(outcomes, with_series, first_file, flags, labelled_of, context):
    """Parse labels (0/1), pair them with patients, quarantine both kinds of orphan."""
    if outcomes is None:
        return pd.DataFrame({"patient_id": pd.Series(dtype=str), "label": pd.Series(dtype=int)}), {}
    out = outcomes.reset_index(drop=True).astype({"patient_id": str})
    source = out["source_file"] if "source_file" in out.columns else "<outcomes>"
    out = out.assign(source_file=source)
    numeric = pd.to_numeric(out["label"].astype(str).str.strip(), errors="coerce")
    valid = numeric.isin([0, 1]) & ~out.duplicated("patient_id")
    for row in out[~valid].itertuples():
        why = ("duplicate outcome row" if numeric[row.Index] in (0, 1)
               else f"label '{row.label}' is not 0/1")  # fmt: skip
        context.add(row.source_file, row.patient_id, "label", f"{why} for patient {row.patient_id}")
    out = out[valid]
    labelled = set(out["patient_id"])
    known_patients = set(first_file.index)
    for row in out[~out["patient_id"].isin(known_patients)].itertuples():
        context.add(
            row.source_file,
            row.patient_id,
            "label",
            f"outcome for patient {row.patient_id} without any patient file",
        )
    unlabelled = sorted(with_series - labelled)
    for patient in unlabelled:
        context.add(first_file[patient], patient, "label", f"no outcome for patient {patient}")
    flags.flag(~labelled_of(labelled), "label", "patient has no outcome")
    labels = pd.DataFrame({"patient_id": out["patient_id"].to_numpy(),
                           "label": numeric[valid].astype(int).to_numpy()})  # fmt: skip
    counts = {
        "outcomes_in": len(outcomes),
        "outcomes_without_patient": int((~out["patient_id"].isin(known_patients)).sum()),
        "patients_without_outcome": len(unlabelled),
        "invalid_outcome_rows": int((~valid).sum()),
    }
    return labels, counts


def require_outcomes(outcomes: pd.DataFrame | None, source) -> None:
    """Training needs outcomes: none at all is refused, naming ``source``, rather than every
    patient being quarantined as unlabelled."""
    if outcomes is None or len(outcomes) == 0:
        raise DataFormatError(source, "no outcomes (patient_id,label rows) to train on: give the "
                              "outcomes CSV (PhysioNet2012Dataset `outcomes:`) or Outcomes*.txt")  # fmt: skip


def validate_2012(raw: dict, ranges: dict[str, ValueRange] = RANGES_2012):
    """``PhysioNet2012Dataset`` load (training) -> ``(clean_long, labels, quarantine, report)``.

    Training needs outcomes: a long CSV given without an outcomes table is refused here rather
    than quarantining every patient as unlabelled. Files of a 2012 folder that are not
    ``*.txt[.gz]`` are named in ``report["files_ignored"]``.
    """
    outcomes = raw.get("outcomes")
    require_outcomes(outcomes, raw["observations"]["source_file"].iloc[0] if len(raw["observations"]) else "input")
    clean, labels, quarantine, report = validate_long(
        raw["observations"], outcomes, ranges, raw.get("patients")
    )
    report["files_ignored"] = list(raw.get("ignored_files", []))
    return clean, labels, quarantine, report


__all__ = ["CLEAN_COLUMNS", "validate_2012", "validate_2019", "validate_long"]
