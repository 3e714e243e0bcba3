"""Ordinary export variants of the vitals inputs (issue 15): each must work with every patient
kept and labelled, or be refused/quarantined with the file, row and field named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqhealth.quality import DataFormatError
from seqhealth.vitals.readers import (
    iso_times_to_hours,
    normalise_patient_ids,
    read_2012_directory,
    read_2012_for_prediction,
    read_2019_directory,
    read_2019_for_prediction,
    read_long_csv,
)
from seqhealth.vitals.schema import PSV_COLUMNS
from seqhealth.vitals.validation import validate_2012, validate_2019, validate_long

from .test_malformed_vitals import assert_reconciles, patient, psv_text, write_2012, write_psv

OBSERVATIONS = (
    "patient_id,time,variable,value\n132545,0,HR,80\n132545,1.5,HR,82\n7,0,HR,70\n7,2,Temp,37\n"
)


def write_long(tmp_path: Path, observations: str, outcomes: str | None) -> dict:
    (tmp_path / "obs.csv").write_text(observations)
    if outcomes is not None:
        (tmp_path / "out.csv").write_text(outcomes)
    return read_long_csv(
        tmp_path / "obs.csv", tmp_path / "out.csv" if outcomes is not None else None
    )


# Outcome tables a spreadsheet or a database export writes for the same two patients.
OUTCOME_VARIANTS = {
    "integer ids": "patient_id,label\n132545,1\n7,0\n",
    "ids written as floats": "patient_id,label\n132545.0,1\n7.0,0\n",
    "ids with surrounding spaces": "patient_id,label\n  132545 ,1\n7\t,0\n",
    "zero-padded ids": "patient_id,label\n00132545,1\n0007,0\n",
    "float labels": "patient_id,label\n132545,1.0\n7,0.0\n",
}


@pytest.mark.parametrize("variant", list(OUTCOME_VARIANTS), ids=list(OUTCOME_VARIANTS))
def test_outcome_id_variants_match_every_patient(variant, tmp_path):
    result = validate_2012(write_long(tmp_path, OBSERVATIONS, OUTCOME_VARIANTS[variant]))
    assert_reconciles(result)
    clean, labels, quarantine, report = result
    assert len(quarantine) == 0, quarantine.to_string()
    assert dict(zip(labels["patient_id"], labels["label"])) == {"132545": 1, "7": 0}
    assert report["patients_kept"] == 2 and len(clean) == 4


def test_zero_padded_observation_ids_match_integer_outcome_ids(tmp_path):
    padded = OBSERVATIONS.replace("\n7,", "\n007,").replace("\n132545,", "\n 132545.0,")
    clean, labels, quarantine, _ = validate_2012(
        write_long(tmp_path, padded, OUTCOME_VARIANTS["integer ids"])
    )
    assert len(quarantine) == 0
    assert sorted(clean["patient_id"].unique()) == ["132545", "7"]


def test_long_csv_and_outcomes_with_mac_and_windows_line_ends(tmp_path):
    observations = OBSERVATIONS.replace("\n", "\r")
    outcomes = OUTCOME_VARIANTS["ids written as floats"].replace("\n", "\r\n")
    clean, labels, quarantine, _ = validate_2012(write_long(tmp_path, observations, outcomes))
    assert len(quarantine) == 0 and len(clean) == 4 and len(labels) == 2


def test_normalisation_rule():
    spellings = [" 0132545 ", "132545.0", "+132545", "132545.000", "0", "000", "p000001", "1.5",
                 "A-17 ", "1e3"]  # fmt: skip
    assert normalise_patient_ids(spellings).tolist() == [
        "132545", "132545", "132545", "132545", "0", "0", "p000001", "1.5", "A-17", "1e3",
    ]  # fmt: skip


def test_long_csv_without_outcomes_is_refused_for_training_naming_the_file(tmp_path):
    raw = write_long(tmp_path, OBSERVATIONS, None)
    with pytest.raises(DataFormatError, match=r"obs\.csv: no outcomes"):
        validate_2012(raw)
    with pytest.raises(DataFormatError, match=r"missing\.csv: no such file"):
        read_long_csv(tmp_path / "obs.csv", tmp_path / "missing.csv")


def test_iso_datetimes_become_hours_since_each_patients_first_time(tmp_path):
    observations = (
        "patient_id,time,variable,value\n"
        "132545,2020-01-01T08:00:00,HR,80\n"
        "132545,2020-01-01 09:30,HR,82\n"
        "132545,2020-01-01T07:00:00+01:00,Temp,37\n"  # 06:00 UTC: this patient's first time
        "7,2021-06-30T23:45:00Z,HR,70\n"
        "7,2021-07-01T01:45:00Z,HR,71\n"
    )
    result = validate_2012(write_long(tmp_path, observations, OUTCOME_VARIANTS["integer ids"]))
    assert_reconciles(result)
    clean, labels, quarantine, _ = result
    assert len(quarantine) == 0 and len(labels) == 2
    hours = clean.groupby("patient_id")["time_h"].apply(list).to_dict()
    assert hours == {"132545": [0.0, 2.0, 3.5], "7": [0.0, 2.0]}


def test_iso_conversion_leaves_other_cells_for_validation():
    ids = pd.Series(["a", "a", "a"])
    times = pd.Series(["2020-01-01T10:00", "1:30", "2020-13-45T00:00"])  # month 13 is invalid
    assert iso_times_to_hours(ids, times).tolist() == ["0.0", "1:30", "2020-13-45T00:00"]


def test_files_of_other_types_are_named_in_the_report(tmp_path):
    write_2012(tmp_path, {"1001": patient()})
    (tmp_path / "set-a" / "1002.csv").write_text("Time,Parameter,Value\n")
    *_, report = validate_2012(read_2012_directory(tmp_path))
    assert [Path(p).name for p in report["files_ignored"]] == ["1002.csv"]
    write_psv(tmp_path / "psv", "p000001", psv_text([{}]))
    (tmp_path / "psv" / "training" / "p000002.psv.bak").write_text("x")
    *_, report = validate_2019(read_2019_directory(tmp_path / "psv"))
    assert [Path(p).name for p in report["files_ignored"]] == ["p000002.psv.bak"]


def test_one_mistyped_iculos_costs_one_row_not_the_rest_of_the_stay(tmp_path):
    rows = [{}, {}, {"ICULOS": "300"}, {}, {}, {"ICULOS": "5"}]  # hours 1, 2, 300, 4, 5, 5
    clean, labels, quarantine, report = validate_2019(
        read_2019_directory(write_psv(tmp_path, "p000001", psv_text(rows)))
    )
    assert labels["time_h"].tolist() == [1, 2, 4, 5]
    assert report["rows_quarantined"] == 2
    reasons = quarantine.loc[quarantine["record_id"].str.endswith(("/row2", "/row5")), "reason"]
    assert reasons.tolist() == ["row 2: ICULOS 300 jumps from 2 by more than 24 h",
                                "row 5: ICULOS 5 is not increasing (previous 5)"]  # fmt: skip


def test_files_to_score_every_patient_kept_or_listed_with_a_reason(tmp_path):
    write_2012(tmp_path, {"0001001": patient(), "1002": patient("49:00,HR,80", "50:10,HR,82")})
    (tmp_path / "set-a" / "1002.txt").rename(tmp_path / "set-a" / "1002.TXT")
    (tmp_path / "Outcomes-a.txt").rename(tmp_path / "OUTCOMES-A.TXT")  # skipped, not a patient
    raw = read_2012_for_prediction(tmp_path)
    clean, _, quarantine, report = validate_long(
        raw["observations"], None, patients=raw["patients"]
    )
    assert sorted(raw["patients"]["patient_id"]) == ["1001", "1002"]
    assert set(clean["patient_id"]) == {"1001"}  # 1002 was charted only after the 48 h window
    listed = quarantine[(quarantine["record_id"] == "1002") & (quarantine["field"] == "patient")]
    assert len(listed) == 1 and "no valid time-series observation" in listed["reason"].iloc[0]
    assert quarantine["reason"].str.contains("time '49:00' beyond the 48 h bound").any()


def test_a_callers_patients_table_of_raw_file_stems_still_pairs_with_the_observations(tmp_path):
    write_2012(tmp_path, {"0132545": patient()})
    path = tmp_path / "set-a" / "0132545.txt"
    patients = pd.DataFrame({"source_file": [str(path)], "patient_id": [path.stem]})
    raw = read_2012_for_prediction(path)
    clean, _, quarantine, _ = validate_long(raw["observations"], None, patients=patients)
    assert len(quarantine) == 0 and set(clean["patient_id"]) == {"132545"}


def test_psv_to_score_may_lack_sepsislabel_and_have_upper_case_names(tmp_path):
    unlabelled = [c for c in PSV_COLUMNS if c != "SepsisLabel"]
    write_psv(tmp_path, "p000001", psv_text([{}, {}], unlabelled))
    (tmp_path / "training" / "p000001.psv").rename(tmp_path / "training" / "p000001.PSV")
    for path in (tmp_path, tmp_path / "training" / "p000001.PSV"):
        clean, _, quarantine, report = validate_2019(read_2019_for_prediction(path))
        assert len(quarantine) == 0 and report["rows_kept"] == 2


# ------------------------------------------------------------------ real samples (shared data)
def test_real_2012_records_upper_case_and_mac_line_ends_give_the_same_result(shared_data, tmp_path):
    source = shared_data / "physionet2012_mortality"
    originals = sorted((source / "set-a").glob("*.txt"))[:12]
    plain, variant = tmp_path / "plain" / "set-a", tmp_path / "variant" / "set-a"
    plain.mkdir(parents=True), variant.mkdir(parents=True)
    for path in originals:
        shutil.copy(path, plain / path.name)
        (variant / (path.stem + ".TXT")).write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    wanted = {p.stem for p in originals}
    outcome_lines = (source / "Outcomes-a.subset.txt").read_text().splitlines()
    kept = [outcome_lines[0]] + [line for line in outcome_lines[1:] if line.split(",")[0] in wanted]
    (plain.parent / "Outcomes-a.txt").write_text("\n".join(kept) + "\n")
    (variant.parent / "OUTCOMES-A.TXT").write_text("\r".join(kept) + "\r")
    expected = validate_2012(read_2012_directory(plain.parent))
    got = validate_2012(read_2012_directory(variant.parent))
    assert got[3]["patients_in"] == expected[3]["patients_in"] == 12
    pd.testing.assert_frame_equal(got[0], expected[0])
    pd.testing.assert_frame_equal(got[1], expected[1])


def test_real_2019_stays_starting_after_hour_1_pass_the_iculos_checks(shared_data, tmp_path):
    """Real stays start at ICULOS 1-13 and step by 1 (the 500-patient sample keeps every row:
    tests/vitals/test_real_physionet.py); here a late and an ordinary start, cheaply."""

    def first_iculos(path):
        header, first = path.read_text().splitlines()[:2]
        return int(float(first.split("|")[header.split("|").index("ICULOS")]))

    paths = sorted((shared_data / "physionet2019_sepsis").rglob("*.psv"))
    late = next(p for p in paths if first_iculos(p) > 1)
    ordinary = next(p for p in paths if first_iculos(p) == 1)
    for path in (late, ordinary):
        shutil.copy(path, tmp_path / path.name.upper())  # P105621.PSV: upper case as well
    clean, labels, quarantine, report = validate_2019(read_2019_directory(tmp_path))
    assert len(quarantine) == 0 or set(quarantine["field"]) == {"value"}  # range checks only
    assert report["patients_kept"] == 2 and report["rows_quarantined"] == 0
    starts = labels.groupby("patient_id")["time_h"].min()
    assert starts[late.stem.upper()] == first_iculos(late) > 1
    assert np.all(labels.groupby("patient_id")["time_h"].diff().dropna() == 1)
