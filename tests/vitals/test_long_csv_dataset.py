"""A plain long CSV plus an outcomes CSV goes through the same dataset and validation as 2012."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, DatasetError

from seqhealth.vitals.validation import validate_2012


def _catalog(path, outcomes):
    return DataCatalog.from_config(
        {"stays": {"type": "seqhealth.datasets.physionet.PhysioNet2012Dataset", "path": str(path), "outcomes": outcomes}}
    )


def test_long_csv_with_outcomes_loads_and_validates(tmp_path):
    long_csv = tmp_path / "vitals.csv"
    long_csv.write_text(
        "patient_id,time,variable,value\n"
        "a,0.0,HR,80\na,1.5,HR,85\na,02:30,Temp,37.1\n"
        "b,0.5,HR,120\nb,1.0,HR,abc\nb,2.0,HR,400\n"
    )
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("patient_id,label\na,0\nb,1\n")
    raw = _catalog(long_csv, str(outcomes)).load("stays")
    clean, labels, quarantine, report = validate_2012(raw)
    assert report["records_in"] == report["records_kept"] + report["records_quarantined"]
    assert sorted(clean["time_h"][clean["patient_id"] == "a"]) == [0.0, 1.5, 2.5]  # HH:MM and hours both kept as given
    assert set(quarantine["reason"].str.contains("non-numeric|range", regex=True)) == {True}
    assert dict(zip(labels["patient_id"], labels["label"])) == {"a": 0, "b": 1}


def test_long_csv_missing_a_column_names_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,time,value\na,0,80\n")
    # Kedro wraps the loader's DataFormatError; the file and the missing column stay in the message.
    with pytest.raises(DatasetError, match=r"bad\.csv.*lacks columns \['variable'\]"):
        _catalog(bad, "null").load("stays")
