"""The PhysioNet 2012 / long-CSV ingest as it was before issue 21 (per-file pandas reads, reasons
written for every row), kept only as the reference that ``test_long_columnar_equivalence``
compares the columnar path against. Not used by the package."""
# ruff: noqa
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.quality import DataFormatError, QuarantineLog
from seqhealth.vitals.accounting import CLEAN_COLUMNS, DOMAIN, ObservationFlags, finish_report, range_violations
from seqhealth.vitals.readers import (
    _OUTCOMES_GLOB,
    _require_directory,
    data_files,
    is_outcomes_file,
    normalise_patient_ids,
    parse_hours,
    patients_frame,
    read_2012_file,
    read_2012_outcomes,
)
from seqhealth.vitals.schema import (
    LONG_MAX_HOURS,
    P2012_DESCRIPTORS,
    P2012_MAX_HOURS,
    P2012_STATIC,
    P2012_UNKNOWN_DESCRIPTOR,
    RANGES_2012,
    ValueRange,
)


def legacy_read_2012_directory(directory: Path) -> dict:
    directory = _require_directory(directory)
    all_txt, ignored = data_files(directory, ".txt")
    outcome_paths = [p for p in all_txt if is_outcomes_file(p)]
    patient_paths = [p for p in all_txt if not is_outcomes_file(p)]
    if not outcome_paths:
        raise DataFormatError(directory, f"no {_OUTCOMES_GLOB} file found under the directory")
    if not patient_paths:
        raise DataFormatError(directory, "no patient *.txt file found under the directory")
    frames = [read_2012_file(p) for p in patient_paths]
    return {
        "observations": pd.concat(frames, ignore_index=True),
        "outcomes": read_2012_outcomes(outcome_paths),
        "patients": patients_frame(patient_paths, ".txt"),
        "ignored_files": [str(p) for p in ignored],
    }


def _first_file_per_patient(patients: pd.DataFrame) -> pd.Series:
    return patients.drop_duplicates("patient_id").set_index("patient_id")["source_file"]


def legacy_validate_long(
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

    # Duplicate patient ids across files: the first file (sorted path order) wins.
    first_file = _first_file_per_patient(patients)
    for row in patients[patients.duplicated("patient_id")].itertuples():
        context.add(row.source_file, row.patient_id, "patient_id",
                    f"duplicate patient id {row.patient_id}: already read from "
                    f"{first_file[row.patient_id]}")  # fmt: skip
    later_file = (obs["source_file"] != pid.map(first_file)).to_numpy()
    flags.flag(later_file, "patient_id", "patient id already read from another file")

    flags.flag((pid.str.strip() == "").to_numpy(), "patient_id", "blank patient id")
    # RecordID rows identify the patient; one that disagrees with the file name is suspect
    # (compared after the id normalisation the file name went through: 0132545 == 132545).
    is_id = (var == "RecordID").to_numpy()
    id_mismatch = is_id & (normalise_patient_ids(value_s).to_numpy() != pid.to_numpy())
    flags.flag(id_mismatch, "RecordID", "RecordID " + value_s + " != file name " + pid)
    flags.repair(is_id, "record_id_rows")

    hours = parse_hours(time_s).to_numpy()
    flags.flag(~np.isfinite(hours), "time", "unparsable time '" + time_s + "'")
    flags.flag(hours < 0, "time", "negative time '" + time_s + "'")
    flags.flag(hours > max_time_h, "time",
               "time '" + time_s + f"' beyond the {max_time_h:g} h bound of the format")  # fmt: skip
    values = pd.to_numeric(value_s.str.strip(), errors="coerce").to_numpy(dtype=float)
    flags.flag(~np.isfinite(values), "value",
               "non-numeric value '" + value_s + "' for " + var)  # fmt: skip
    unknown = (var.isin(P2012_DESCRIPTORS[1:]) & (hours == 0)).to_numpy() & (
        values == P2012_UNKNOWN_DESCRIPTOR
    )
    flags.repair(unknown, "unknown_descriptor_minus_1")
    flags.flag(~var.isin(list(ranges)).to_numpy(), "variable", "unknown variable '" + var + "'")
    outside, range_text = range_violations(var, values, ranges)
    flags.flag(outside, "value", var + "=" + value_s + " outside plausible range " + range_text)

    # Unsorted timestamps: a repair (stable sort keeps file order among equal times).
    alive = flags.alive
    live = pd.DataFrame({"pid": pid[alive], "h": hours[alive]})
    went_back = live.groupby("pid", sort=False)["h"].diff() < 0
    unsorted_patients = int(live.loc[went_back, "pid"].nunique())

    # Duplicate (patient, time, variable): identical value -> repair; different -> quarantine.
    order = np.lexsort((hours, pid.to_numpy()))  # stable: file order among ties
    live_order = order[alive[order]]
    keyed = pd.DataFrame({"pid": pid.to_numpy()[live_order], "h": hours[live_order],
                          "var": var.to_numpy()[live_order], "v": values[live_order]})  # fmt: skip
    first_value = keyed.groupby(["pid", "h", "var"], sort=False)["v"].transform("first")
    repeated = keyed.duplicated(["pid", "h", "var"]).to_numpy()
    same = repeated & (first_value.to_numpy() == keyed["v"].to_numpy())
    exact, conflict = np.zeros(len(obs), bool), np.zeros(len(obs), bool)
    exact[live_order[same]] = True
    conflict[live_order[repeated & ~same]] = True
    kept_text = np.full(len(obs), "", dtype=object)
    kept_text[live_order] = first_value.map("{:g}".format).to_numpy()
    flags.repair(exact, "exact_duplicate_rows")
    flags.flag(conflict, "value", "conflicting duplicate of (" + time_s + ", " + var +
               "): kept " + kept_text + ", got " + value_s)  # fmt: skip

    # Patient level: at least one time-series observation must survive.
    static = (var.isin(P2012_STATIC) | ((var == "Weight") & (hours == 0))).to_numpy()
    with_series = set(pid[flags.alive & ~static])
    for row in patients.drop_duplicates("patient_id").itertuples():
        if row.patient_id not in with_series:
            context.add(row.source_file, row.patient_id, "patient",
                        "patient has no valid time-series observation (only descriptors, "
                        "all missing or all quarantined)")  # fmt: skip
    flags.flag(~pid.isin(with_series).to_numpy(), "patient", "patient has no time-series data")

    labels, counts = _match_outcomes(outcomes, with_series, first_file, flags, pid, context)
    alive = flags.alive
    clean = pd.DataFrame({"patient_id": pid[alive].to_numpy(), "time_h": hours[alive],
                          "variable": var[alive].to_numpy(), "value": values[alive]})  # fmt: skip
    clean = clean.sort_values(["patient_id", "time_h"], kind="stable", ignore_index=True)
    record_id = pid + "/" + time_s + "/" + var
    quarantine, report = finish_report(
        flags, obs, clean, obs["source_file"], record_id, context,
        patients_in=int(patients["patient_id"].nunique()),
        patients_kept=int(clean["patient_id"].nunique()),
        unsorted_patients=unsorted_patients, **counts,
    )  # fmt: skip
    labels = labels[labels["patient_id"].isin(set(clean["patient_id"]))].reset_index(drop=True)
    report["positives"] = int(labels["label"].sum())
    return clean, labels, quarantine, report


def _match_outcomes(outcomes, with_series, first_file, flags, pid, context):
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
    flags.flag(~pid.isin(labelled).to_numpy(), "label", "patient has no outcome")
    labels = pd.DataFrame({"patient_id": out["patient_id"].to_numpy(),
                           "label": numeric[valid].astype(int).to_numpy()})  # fmt: skip
    counts = {
        "outcomes_in": len(outcomes),
        "outcomes_without_patient": int((~out["patient_id"].isin(known_patients)).sum()),
        "patients_without_outcome": len(unlabelled),
        "invalid_outcome_rows": int((~valid).sum()),
    }
    return labels, counts


def legacy_validate_2012(raw: dict, ranges: dict[str, ValueRange] = RANGES_2012):
    """``PhysioNet2012Dataset`` load (training) -> ``(clean_long, labels, quarantine, report)``.

    Training needs outcomes: a long CSV given without an outcomes table is refused here rather
    than quarantining every patient as unlabelled. Files of a 2012 folder that are not
    ``*.txt[.gz]`` are named in ``report["files_ignored"]``.
    """
    outcomes = raw.get("outcomes")
    if outcomes is None or len(outcomes) == 0:
        source = raw["observations"]["source_file"].iloc[0] if len(raw["observations"]) else "input"
        raise DataFormatError(source, "no outcomes (patient_id,label rows) to train on: give the "
                              "outcomes CSV (PhysioNet2012Dataset `outcomes:`) or Outcomes*.txt")  # fmt: skip
    clean, labels, quarantine, report = legacy_validate_long(
        raw["observations"], outcomes, ranges, raw.get("patients")
    )
    report["files_ignored"] = list(raw.get("ignored_files", []))
    return clean, labels, quarantine, report


