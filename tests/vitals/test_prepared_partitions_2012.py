"""Issue 21: PhysioNet 2012 records prepared partition by partition (patient-id hash, each Outcomes
row with its patient) and cached as partitioned Parquet. Same kept/quarantined records, report and
model input as validating the whole folder; the malformed-input cases give the same results through
the partitions; a second run recomputes no partition; a touched patient file or outcome row
recomputes only its own partition."""

from __future__ import annotations

import gzip
import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from seqhealth.datasets.physionet import PhysioNet2012Dataset
from seqhealth.quality import DataFormatError
from seqhealth.tasks.vitals_mortality import TASK
from seqhealth.vitals.partitions import StayFolder, partition_count, partition_of, prepare_2012
from seqhealth.vitals.readers import read_2012_directory
from seqhealth.vitals.validation import validate_2012
from tests.vitals import test_malformed_vitals as malformed
from tests.vitals.test_malformed_vitals import patient

PARAMS = {"split": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 42}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


def _assert_same(prepared, whole) -> None:
    clean, labels, quarantine, report = whole
    assert prepared.report == report
    for got, want in ((prepared.observations, clean), (prepared.labels, labels),
                      (prepared.quarantine, quarantine)):  # fmt: skip
        pd.testing.assert_frame_equal(_sorted(got), _sorted(want))


def _prepare(folder: Path, cache: Path | None, patients_per_partition: int):
    return prepare_2012(StayFolder(folder, cache, patients_per_partition, "physionet2012"))


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(["Time,Parameter,Value", *lines]) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    return path


@pytest.fixture()
def records(tmp_path) -> Path:
    """Forty patient files (ten malformed in ways validation knows) in two folders + outcomes."""
    folder = tmp_path / "records"
    rng = np.random.default_rng(0)
    for i in range(30):
        series = [f"{h:02d}:{rng.integers(0, 60):02d},HR,{rng.normal(85, 10):.0f}" for h in range(1 + i % 4)]
        _write(folder, f"set-{'a' if i % 2 else 'b'}/{1000 + i}.txt",
               [line.format(pid=1000 + i) for line in patient(*series)])  # fmt: skip
    bad = {
        "set-a/2001.txt": patient("01:00,HR,abc", "02:00,HR,400", "03:00,Temp,98.6", "1h30,HR,80"),
        "set-a/2002.txt": patient("03:00,HR,80", "01:00,HR,85", "01:00,HR,95", "49:30,HR,90"),
        "set-a/2003.txt": [],  # header only
        "set-a/2004.txt": malformed.DESCRIPTORS,  # no time series
        "set-a/2005.txt": patient("01:00,Heartrate,80", "02:00,HR,80", "02:00,HR,80"),
        "set-b/0002001.txt": patient(),  # 2001 again, zero-padded, in another folder
        "set-b/2006.txt.gz": patient(),
        "set-b/2007.txt": ["00:00,RecordID,9"] + patient()[1:],  # RecordID != file name
        "set-b/2008.txt": patient(),  # no outcome row
    }
    for name, lines in bad.items():
        _write(folder, name, [line.format(pid=Path(name).name.split(".")[0]) for line in lines])
    outcomes = [f"{1000 + i},10,3,5,-1,{int(i % 5 == 0)}" for i in range(30)]
    outcomes += [" 2001.0,1,1,1,1,1", "2002,1,1,1,1,0", "2003,1,1,1,1,0", "2004,1,1,1,1,0",
                 "2005,1,1,1,1,2", "2006,1,1,1,1,1", "2006,1,1,1,1,1", "2007,1,1,1,1,0",
                 "9999,1,1,1,1,1"]  # fmt: skip
    (folder / "Outcomes-a.txt").write_text(
        "\n".join(["RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death", *outcomes]) + "\n"
    )
    (folder / "notes.csv").write_text("not a record\n")
    return folder


def _model_input(prepared) -> dict:
    return TASK.build_model_input(prepared.observations, prepared.labels, PARAMS)


def test_partitions_give_the_whole_folders_records_and_a_rerun_recomputes_nothing(records, tmp_path):
    whole = validate_2012(read_2012_directory(records))
    cache = tmp_path / "prepared"
    first = _prepare(records, cache, patients_per_partition=5)
    assert len(first.recomputed) > 4 and first.reused == []  # 39 files / 5 -> 8 partitions
    _assert_same(first, whole)
    assert {"value", "time", "variable", "patient_id", "patient", "label", "RecordID"} <= set(
        first.quarantine["field"]
    )
    assert first.report["files_ignored"] == [str(records / "notes.csv")]

    second = _prepare(records, cache, patients_per_partition=5)
    assert second.recomputed == [] and second.reused == first.recomputed
    assert second.report == first.report
    for name in ("observations", "labels", "quarantine"):
        pd.testing.assert_frame_equal(getattr(second, name), getattr(first, name))
    a, b = _model_input(second), _model_input(first)
    assert a["patients"] == b["patients"] and a["fingerprint"] == b["fingerprint"]

    labels = pl.scan_parquet(str(cache / "labels" / "**" / "*.parquet"), hive_partitioning=True).collect()
    assert labels.height == len(first.labels)
    assert set(labels["partition"].unique()) <= set(first.recomputed)


def test_a_touched_file_or_outcome_recomputes_only_its_partition(records, tmp_path):
    cache = tmp_path / "prepared"
    first = _prepare(records, cache, patients_per_partition=5)
    n_partitions = partition_count(39, 5)
    touched = records / "set-a" / "1003.txt"
    os.utime(touched, ns=(1, 1))  # same bytes, another modification time
    again = _prepare(records, cache, patients_per_partition=5)
    assert again.recomputed == [partition_of("1003", n_partitions)]
    assert sorted(again.reused + again.recomputed) == first.recomputed
    _assert_same(again, validate_2012(read_2012_directory(records)))

    outcomes = records / "Outcomes-a.txt"
    outcomes.write_text(outcomes.read_text().replace("1010,10,3,5,-1,1", "1010,10,3,5,-1,0"))
    relabelled = _prepare(records, cache, patients_per_partition=5)
    assert relabelled.recomputed == [partition_of("1010", n_partitions)]
    _assert_same(relabelled, validate_2012(read_2012_directory(records)))

    # Another partition count: every partition recomputed, the old plan's partitions removed.
    fewer = _prepare(records, cache, patients_per_partition=20)
    assert fewer.recomputed == [0, 1] and fewer.reused == []
    assert sorted(p.name for p in (cache / "quarantine").iterdir()) == ["partition=0", "partition=1"]


def test_an_outcome_without_a_patient_file_is_quarantined_in_its_own_partition(tmp_path):
    ids = ["1001", "1002", "1003"]  # 3 files, one per partition -> 4 partitions
    orphan = next(str(i) for i in range(9000, 9100) if partition_of(str(i), 4) not in {partition_of(p, 4) for p in ids})
    root = malformed.write_2012(tmp_path / "records", {p: patient() for p in ids}, {**dict.fromkeys(ids, "0"), orphan: "1"})
    prepared = _prepare(root, tmp_path / "prepared", 1)
    assert prepared.recomputed == sorted({partition_of(p, 4) for p in [*ids, orphan]})
    _assert_same(prepared, validate_2012(read_2012_directory(root)))
    assert prepared.quarantine["reason"].tolist() == [f"outcome for patient {orphan} without any patient file"]


_CASES_2012 = [name for name, (build, _) in malformed.CASES.items() if "run_2012" in inspect.getsource(build)]


@pytest.mark.parametrize("case", _CASES_2012)
def test_malformed_2012_cases_give_the_same_results_through_partitions(case, tmp_path_factory, monkeypatch):
    """Each 2012 case of ``test_malformed_vitals`` run by the partitioned path (one patient per
    partition): the same records, report and error as the whole folder, and the case's check holds."""
    cache = tmp_path_factory.mktemp("cache")

    def partitioned(root):
        try:
            whole = validate_2012(read_2012_directory(root))
        except DataFormatError as error:
            with pytest.raises(DataFormatError) as info:
                _prepare(root, cache, 1)
            assert str(info.value) == str(error)
            raise
        prepared = _prepare(root, cache, 1)
        _assert_same(prepared, whole)
        return prepared.observations, prepared.labels, prepared.quarantine, prepared.report

    monkeypatch.setattr(malformed, "run_2012", partitioned)
    malformed.test_malformed_vitals_input(case, tmp_path_factory.mktemp("case"))


def test_the_dataset_hands_ingest_a_folder_to_prepare(records, tmp_path):
    cache = tmp_path / "prepared"
    loaded = PhysioNet2012Dataset(str(records), prepared_cache=str(cache), patients_per_partition=5).load()
    assert isinstance(loaded, StayFolder) and loaded.format == "physionet2012"
    ingested = TASK.ingest({"raw_stays": loaded}, {})
    eager = TASK.ingest({"raw_stays": PhysioNet2012Dataset(str(records)).load()}, {})
    assert ingested["ingest_report"] == eager["ingest_report"]
    assert len(ingested["quarantine"]) == len(eager["quarantine"])
    assert (cache / "reports").is_dir()


@pytest.mark.shared_data
def test_shared_2012_sample_in_partitions_gives_the_same_model_input(mortality_2012_dir, tmp_path):
    whole = validate_2012(read_2012_directory(mortality_2012_dir))
    prepared = _prepare(mortality_2012_dir, tmp_path / "prepared", 50)
    assert len(prepared.recomputed) == 8 and prepared.report["patients_in"] == 400
    _assert_same(prepared, whole)
    want = TASK.build_model_input(whole[0], whole[1], PARAMS)
    got = _model_input(prepared)
    assert got["patients"] == want["patients"] and got["fingerprint"] == want["fingerprint"]
    for part in ("train", "val", "test"):
        for a, b in zip(got["splits"][part], want["splits"][part], strict=True):
            np.testing.assert_allclose(a["x"], b["x"], rtol=1e-6, atol=1e-6)
            assert a["y"] == b["y"]
    again = _prepare(mortality_2012_dir, tmp_path / "prepared", 50)
    assert again.recomputed == [] and len(again.reused) == 8
    _assert_same(again, whole)
