"""Issue 21: the columnar PhysioNet 2019 ingest (Polars read, Arrow cell judging) gives exactly what
the per-file pandas ingest gave: same kept and quarantined records (every reason, file and record
id), same reconciled report, same hourly labels and the same model input to float tolerance."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqhealth.tasks.vitals_sepsis import TASK
from seqhealth.vitals.readers import read_2019_directory
from seqhealth.vitals.schema import PSV_COLUMNS
from seqhealth.vitals.validation import validate_2019
from tests.vitals.legacy_2019 import legacy_read_2019_directory, legacy_validate_2019

PARAMS = {"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}


def _both(folder: Path):
    new = validate_2019(read_2019_directory(folder))
    old = legacy_validate_2019(legacy_read_2019_directory(folder))
    return new, old


def _assert_same_ingest(new, old) -> None:
    (clean, labels, quarantine, report), (clean0, labels0, quarantine0, report0) = new, old
    assert report == report0
    pd.testing.assert_frame_equal(
        quarantine.reset_index(drop=True), quarantine0.reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(clean, clean0)
    pd.testing.assert_frame_equal(labels, labels0)


def _assert_same_model_input(new, old) -> None:
    a = TASK.build_model_input(new[0], new[1], PARAMS)
    b = TASK.build_model_input(old[0], old[1], PARAMS)
    assert a["patients"] == b["patients"]
    for part in ("train", "val", "test"):
        assert len(a["splits"][part]) == len(b["splits"][part])
        for x, y in zip(a["splits"][part], b["splits"][part], strict=True):
            np.testing.assert_allclose(x["x"], y["x"], rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(x["y"], y["y"])
    assert a["preprocessing"]["normalisation"] == pytest.approx(b["preprocessing"]["normalisation"])


def _psv(rows: list[dict], columns: list[str] = PSV_COLUMNS) -> str:
    lines = ["|".join(columns)]
    for i, row in enumerate(rows):
        cells = {"ICULOS": str(i + 1), "SepsisLabel": "0", "HR": "80", "Age": "60", **row}
        lines.append("|".join(cells.get(c, "NaN") for c in columns))
    return "\n".join(lines) + "\n"


def _write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def test_malformed_folder_gives_the_same_records_as_the_per_file_reader(tmp_path):
    """One folder mixing every kind of bad record the 2019 validation knows, plus files the
    columnar scan hands to the per-file reader (gzip, extra column, odd header order)."""
    without_hr = [c for c in PSV_COLUMNS if c != "HR"]
    files = {
        "a/p000001.psv": _psv(
            [{}, {"HR": "400"}, {"Lactate": "high"}, {"ICULOS": "two"}, {"SepsisLabel": "2"}]
        ),
        "a/p000002.psv": _psv(
            [{}, {}, {"ICULOS": "2"}, {"ICULOS": "503"}, {"O2Sat": " 97 "}, {"Temp": "1e400"}]
        ),
        "a/p000003.psv": _psv([]),  # header only
        "a/p000004.psv": _psv([{"HR": "NaN", "Age": "nan"}]),  # nothing observed
        "a/p000005.psv": _psv([{}, {}], without_hr),  # missing a column
        "b/p000001.psv": _psv([{}]),  # duplicate patient in another folder
        "b/p000006.psv.gz": _psv([{"ICULOS": "-3"}, {}, {"HR": "0"}]),
        "b/p000007.psv": _psv([{"ICULOS": "300"}, {"ICULOS": "301"}]),
        "b/p000008.psv": _psv([{"Extra": "1"}, {}], PSV_COLUMNS + ["Extra"]),
        "b/p000009.psv": _psv([{}, {"SepsisLabel": "1"}], list(reversed(PSV_COLUMNS))),
        "b/notes.txt": "not a stay",
        # Files whose data lines are not plain go through the multi-file scan instead of the joined
        # parse; the rest of their group is still parsed joined.
        "c/p000010.psv": _psv([{}, {"HR": "90"}]).replace("\n", "\r\n"),  # CR LF line ends
        "c/p000011.psv": _psv([{}, {"HR": "91"}]).rstrip("\n"),  # no newline after the last row
        "c/p000012.psv": _psv([{}, {"HR": "92"}]).replace("\n", "\n\n", 2),  # a blank line
        "c/p000013.psv": _psv([{"HR": '"93"'}, {}]),  # a quoted cell
    }
    for name, text in files.items():
        _write(tmp_path, name, text)
    new, old = _both(tmp_path)
    _assert_same_ingest(new, old)
    fields = set(new[2]["field"])
    assert {"value", "ICULOS", "SepsisLabel", "columns", "patient_id", "patient"} <= fields
    assert new[3]["records_in"] == new[3]["records_kept"] + new[3]["records_quarantined"]
    _assert_same_model_input(new, old)


@pytest.mark.shared_data
def test_shared_2019_sample_gives_the_same_ingest_and_model_input(sepsis_2019_dir):
    new, old = _both(sepsis_2019_dir)
    _assert_same_ingest(new, old)
    assert new[3]["patients_kept"] > 400
    _assert_same_model_input(new, old)
