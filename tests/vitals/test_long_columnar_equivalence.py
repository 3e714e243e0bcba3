"""Issue 21: the PhysioNet 2012 / long-CSV ingest at columnar speed (one Polars scan of the patient
files, parsing once per distinct text, reasons written only for quarantined rows) gives exactly what
the per-file pandas ingest gave: the same kept rows, the same quarantine (every reason, file and
record id, in order), the same reconciled report and labels."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from seqhealth.vitals.readers import long_csv_to_raw, long_outcomes, read_2012_directory
from seqhealth.vitals.validation import validate_2012, validate_long
from tests.vitals.legacy_2012 import (
    legacy_read_2012_directory,
    legacy_validate_2012,
    legacy_validate_long,
)
from tests.vitals.test_malformed_vitals import DESCRIPTORS, patient, write_2012


def _assert_same(new, old) -> None:
    assert new[3] == old[3]
    for a, b in zip(new[:3], old[:3], strict=True):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def _both(folder: Path):
    return (validate_2012(read_2012_directory(folder)),
            legacy_validate_2012(legacy_read_2012_directory(folder)))  # fmt: skip


def test_malformed_2012_folder_gives_the_same_records_as_the_per_file_reader(tmp_path):
    """Every kind of bad record 2012 validation knows, plus files the scan hands to the per-file
    reader (gzip, a quoted header) and a duplicate patient in another folder."""
    write_2012(
        tmp_path,
        {
            "1001": patient("01:00,HR,abc", "02:00,HR,400", "03:00,Temp,98.6", "1h30,HR,80"),
            "1002": patient("01:00,HR,80", "01:00,HR,95", "01:00,HR,80", "02:00,Heartrate,80"),
            "1003": DESCRIPTORS,  # no time-series data
            "1004": [],  # header only
            "1005": patient("00:30,HR,88", "-01:00,HR,70", "60:00,HR,70", "03:75,HR,70"),
            "01006": patient(" 02:00 ,HR, 81 ", "03:00,HR,"),  # spaces, an empty value
            "1007": [line.replace("{pid}", "9999") for line in patient()],  # RecordID != file name
            "1008": patient("04:00,HR,90", "01:00,HR,85"),  # unsorted times
        },
        {"1001": "0", "1002": "1", "1003": "0", "1004": "0", "1005": "yes", "1006": "1", "1007": "0",
         "4242": "1"},  # fmt: skip
    )
    write_2012(tmp_path, {"1001": patient()}, {}, folder="set-b")  # the same patient again
    (tmp_path / "Outcomes-a.txt").write_text(
        (tmp_path / "Outcomes-a.txt").read_text() + "1001,1,1,1,1,1\n"
    )  # a duplicate outcome row
    gz = tmp_path / "set-b" / "1009.txt.gz"
    gz.write_bytes(gzip.compress(b"Time,Parameter,Value\n00:00,Age,50\n01:00,HR,77\n"))
    (tmp_path / "set-b" / "1010.txt").write_text('"Time","Parameter","Value"\n00:00,Age,50\n01:00,HR,77\n')
    (tmp_path / "notes.md").write_text("not a stay")
    # Data lines the joined parse does not take (multi-file scan or per-file reader instead).
    body = "Time,Parameter,Value\n00:00,Age,50\n01:00,HR,77\n"
    (tmp_path / "set-b" / "1011.txt").write_text(body.replace("\n", "\r\n"))  # CR LF
    (tmp_path / "set-b" / "1012.txt").write_text(body.replace("\n01:00", "\n\n01:00"))  # a blank line
    (tmp_path / "set-b" / "1013.txt").write_text(body.replace(",77", ',"77"'))  # a quoted cell
    (tmp_path / "set-b" / "1014.txt").write_text(body.rstrip("\n"))  # no final newline
    new, old = _both(tmp_path)
    _assert_same(new, old)
    fields = set(new[2]["field"])
    assert {"value", "time", "variable", "patient", "patient_id", "label", "RecordID"} <= fields
    assert new[3]["repairs"]["exact_duplicate_rows"] == 1 and new[3]["unsorted_patients"] >= 1


def test_long_csv_gives_the_same_records(tmp_path):
    frame = pd.DataFrame(
        {"patient_id": ["7", "7", "7", "8", "8", "07"],
         "time": ["0", "1.5", "2020-01-01T08:00", "00:30", "x", "3"],
         "variable": ["HR", "HR", "HR", "Temp", "HR", "HR"],
         "value": ["80", "81", "82", "37", "80", "500"]}
    )  # fmt: skip
    outcomes = pd.DataFrame({"patient_id": ["7", "8"], "label": ["1", "0"]})
    new = validate_long(long_csv_to_raw(frame, "obs.csv"), long_outcomes(outcomes, "out.csv"))
    old = legacy_validate_long(long_csv_to_raw(frame, "obs.csv"), long_outcomes(outcomes, "out.csv"))
    _assert_same(new, old)


@pytest.mark.shared_data
def test_shared_2012_sample_gives_the_same_ingest(mortality_2012_dir):
    new, old = _both(mortality_2012_dir)
    _assert_same(new, old)
    assert new[3]["patients_kept"] == 400 and new[3]["records_quarantined"] > 0
