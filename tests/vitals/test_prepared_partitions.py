"""Issue 21: PhysioNet 2019 stays prepared partition by partition (patient-id hash) and cached as
partitioned Parquet. Same kept/quarantined records, report and model input as validating the
whole folder at once; a second run with unchanged inputs recomputes no partition; a changed file
recomputes only its own partition; the layers are plain hive-partitioned Parquet."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from seqhealth.datasets.physionet import PhysioNet2019Dataset
from seqhealth.tasks.vitals_sepsis import TASK
from seqhealth.vitals.partitions import StayFolder, partition_of, prepare_2019
from seqhealth.vitals.readers import read_2019_directory
from seqhealth.vitals.schema import PSV_COLUMNS
from seqhealth.vitals.validation_2019 import validate_2019
from tests.vitals.test_columnar_equivalence import _psv, _write

PARAMS = {"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _assert_same_as_whole_folder(prepared, folder: Path) -> None:
    clean, labels, quarantine, report = validate_2019(read_2019_directory(folder))
    assert prepared.report == report
    pd.testing.assert_frame_equal(_sorted(prepared.observations, ["patient_id", "time_h", "variable"]),
                                  _sorted(clean, ["patient_id", "time_h", "variable"]))  # fmt: skip
    pd.testing.assert_frame_equal(
        _sorted(prepared.labels, ["patient_id", "time_h"]),
        _sorted(labels, ["patient_id", "time_h"]),
    )
    columns = list(quarantine.columns)
    pd.testing.assert_frame_equal(
        _sorted(prepared.quarantine, columns), _sorted(quarantine, columns)
    )


def _model_input_arrays(prepared) -> list[np.ndarray]:
    model_input = TASK.build_model_input(prepared.observations, prepared.labels, PARAMS)
    return [
        s[key]
        for part in ("train", "val", "test")
        for s in model_input["splits"][part]
        for key in ("x", "y")
    ]


@pytest.fixture()
def stays(tmp_path) -> Path:
    """Forty stays (eight of them malformed in the ways validation knows) in two folders."""
    folder = tmp_path / "stays"
    rng = np.random.default_rng(0)
    for i in range(32):
        rows = [
            {"HR": f"{rng.normal(85, 10):.1f}", "Temp": f"{rng.normal(37, 0.5):.2f}"}
            for _ in range(3 + i % 5)
        ]
        _write(folder, f"{'a' if i % 2 else 'b'}/p{i:06d}.psv", _psv(rows))
    bad = {
        "a/p100001.psv": _psv(
            [{}, {"HR": "400"}, {"Lactate": "high"}, {"ICULOS": "two"}, {"SepsisLabel": "2"}]
        ),
        "a/p100002.psv": _psv([{}, {}, {"ICULOS": "2"}, {"ICULOS": "503"}, {"O2Sat": " 97 "}]),
        "a/p100003.psv": _psv([]),  # header only
        "a/p100004.psv": _psv([{"HR": "NaN", "Age": "nan"}]),  # nothing observed
        "a/p100005.psv": _psv([{}, {}], [c for c in PSV_COLUMNS if c != "HR"]),  # missing a column
        "b/p100001.psv": _psv([{}]),  # the same patient again, in another folder (same partition)
        "b/0100006.psv.gz": _psv([{"ICULOS": "-3"}, {}, {"HR": "0"}]),
        "b/100006.psv": _psv([{}, {"SepsisLabel": "1"}]),  # 0100006 and 100006: one patient
        "b/notes.txt": "not a stay",
    }
    for name, text in bad.items():
        _write(folder, name, text)
    return folder


def test_partitions_give_the_whole_folders_records_and_a_rerun_recomputes_nothing(stays, tmp_path):
    cache = tmp_path / "prepared"
    first = prepare_2019(StayFolder(stays, cache, patients_per_partition=5))
    assert (
        len(first.recomputed) > 4 and first.reused == []
    )  # 40 stays / 5 -> 8 partitions (some may be empty)
    _assert_same_as_whole_folder(first, stays)
    assert {"value", "ICULOS", "SepsisLabel", "columns", "patient_id", "patient"} <= set(
        first.quarantine["field"]
    )

    second = prepare_2019(StayFolder(stays, cache, patients_per_partition=5))
    assert second.recomputed == [] and second.reused == first.recomputed
    assert second.report == first.report
    for name in ("observations", "labels", "quarantine"):
        pd.testing.assert_frame_equal(getattr(second, name), getattr(first, name))
    for a, b in zip(_model_input_arrays(second), _model_input_arrays(first), strict=True):
        np.testing.assert_array_equal(a, b)

    # Any Parquet tool reads the layers; the hive key is the partition.
    observations = pl.scan_parquet(
        str(cache / "observations" / "**" / "*.parquet"), hive_partitioning=True
    ).collect()
    assert observations.height == len(first.observations)
    assert set(observations["partition"].unique()) == set(first.recomputed)


def test_a_changed_or_added_file_recomputes_only_its_partition(stays, tmp_path):
    cache = tmp_path / "prepared"
    first = prepare_2019(StayFolder(stays, cache, patients_per_partition=6))
    n_partitions = 8  # 40 and 41 stays / 6 -> 7 -> the next power of two
    changed = stays / "a" / "p000003.psv"
    changed.write_text(_psv([{"HR": "91"}, {"HR": "400"}]))
    os.utime(changed, ns=(1, 1))  # a different modification time even on a coarse clock
    added = stays / "b" / "p000777.psv"
    _write(stays, "b/p000777.psv", _psv([{"HR": "77"}]))
    expected = sorted(
        {partition_of("p000003", n_partitions), partition_of("p000777", n_partitions)}
    )

    again = prepare_2019(StayFolder(stays, cache, patients_per_partition=6))
    assert again.recomputed == expected
    assert sorted(again.reused + again.recomputed) == sorted(set(first.recomputed) | set(expected))
    _assert_same_as_whole_folder(again, stays)

    # Another partition count: every partition recomputed, the old plan's partitions removed.
    fewer = prepare_2019(StayFolder(stays, cache, patients_per_partition=25))
    assert fewer.recomputed == [0, 1] and fewer.reused == []
    assert sorted(p.name for p in (cache / "observations").iterdir()) == [
        "partition=0",
        "partition=1",
    ]
    _assert_same_as_whole_folder(fewer, stays)
    assert added.exists()


def test_the_dataset_hands_ingest_a_folder_to_prepare(stays, tmp_path):
    cache = tmp_path / "prepared"
    loaded = PhysioNet2019Dataset(
        str(stays), prepared_cache=str(cache), patients_per_partition=5
    ).load()
    assert isinstance(loaded, StayFolder)
    ingested = TASK.ingest({"raw_stays": loaded}, {})
    eager = TASK.ingest({"raw_stays": PhysioNet2019Dataset(str(stays)).load()}, {})
    assert ingested["ingest_report"] == eager["ingest_report"]
    assert len(ingested["quarantine"]) == len(eager["quarantine"])
    assert (cache / "reports").is_dir()


@pytest.mark.shared_data
def test_shared_2019_sample_in_partitions_gives_the_same_model_input(sepsis_2019_dir, tmp_path):
    prepared = prepare_2019(
        StayFolder(sepsis_2019_dir, tmp_path / "prepared", patients_per_partition=100)
    )
    assert len(prepared.recomputed) == 8
    _assert_same_as_whole_folder(prepared, sepsis_2019_dir)
    clean, labels, _quarantine, _report = validate_2019(read_2019_directory(sepsis_2019_dir))
    whole = TASK.build_model_input(clean, labels, PARAMS)
    parts = TASK.build_model_input(prepared.observations, prepared.labels, PARAMS)
    assert parts["patients"] == whole["patients"] and parts["fingerprint"] == whole["fingerprint"]
    again = prepare_2019(
        StayFolder(sepsis_2019_dir, tmp_path / "prepared", patients_per_partition=100)
    )
    assert again.recomputed == [] and len(again.reused) == 8
