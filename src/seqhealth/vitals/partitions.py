"""PhysioNet 2019 stays and 2012 records prepared partition by partition, cached as partitioned
Parquet (issue 21).

A cohort is cut into partitions by a hash of the (normalised) patient id, so every file of one
patient id lands in the same partition and duplicate-patient detection ("the first file in sorted
order wins") stays exactly what ``validate_2019`` / ``validate_2012`` do on the whole folder (a 2012
outcome row goes to its patient's partition). Each partition is read
and validated on its own (peak memory follows the partition, not the cohort) and its validated
tables are written as hive-partitioned Parquet, readable by any Parquet tool::

    <cache>/observations/partition=3/part.parquet   patient_id, time_h, variable, value
    <cache>/labels/partition=3/part.parquet         patient_id, time_h, label (2012: patient_id, label)
    <cache>/quarantine/partition=3/part.parquet     domain, source_file, record_id, field, reason
    <cache>/reports/partition=3.json                fingerprint + the partition's ingest report

    polars.scan_parquet("<cache>/observations/**/*.parquet", hive_partitioning=True)

A partition's fingerprint covers its files (path, size, modification time), the partition count
and the code version (the source of the modules that read and validate, and the versions of the
libraries that parse); an unchanged partition is read back from Parquet instead of being parsed
again. The number of partitions is the power of two at or above ``patients / patients_per_partition``,
so a growing cohort changes it (and recomputes) only when it doubles.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from seqhealth.quality import DataFormatError, quarantine_frame
from seqhealth.vitals import (
    accounting,
    cells,
    long_columnar,
    psv_columnar,
    readers,
    schema,
    validation,
    validation_2019,
)

LAYERS = ("observations", "labels", "quarantine")
_CODE_MODULES = (
    readers,
    psv_columnar,
    long_columnar,
    validation,
    validation_2019,
    cells,
    accounting,
    schema,
)
# Report entries that are lists (merged as a sorted union) or dicts of counts (summed per key);
# every other count is summed over the partitions.
_UNION_KEYS = ("unknown_columns",)


def code_version() -> str:
    """Hash of the reading/validation source and of the parsing libraries' versions: a cached
    partition made by other code is recomputed."""
    digest = hashlib.sha256()
    for source in [module.__file__ for module in _CODE_MODULES] + [__file__]:
        digest.update(Path(source).read_bytes())
    digest.update(
        f"pandas {pd.__version__} polars {pl.__version__} pyarrow {pa.__version__}".encode()
    )
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StayFolder:
    """A folder of stays to prepare partition by partition (what ``PhysioNet2019Dataset`` /
    ``PhysioNet2012Dataset`` load when given a ``prepared_cache``); ``cache=None`` prepares
    without caching. ``format``: ``physionet2019`` (``.psv``) or ``physionet2012`` (``.txt``)."""

    path: Path
    cache: Path | None = None
    patients_per_partition: int = 1000
    format: str = "physionet2019"

    def read_whole(self) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """The raw tables the dataset gives without a cache, read whole: for looking at a small
        folder (a notebook), not for ingesting a large one."""
        if self.format == "physionet2012":
            return readers.read_2012_directory(self.path)
        return readers.read_2019_directory(self.path)


@dataclass
class PreparedCohort:
    """The validated cohort: ``validate_2019``'s four results + which partitions were recomputed."""

    observations: pd.DataFrame
    labels: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict
    recomputed: list[int] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)


def partition_count(n_patients: int, patients_per_partition: int) -> int:
    wanted = max(1, math.ceil(n_patients / max(1, int(patients_per_partition))))
    return 1 << (wanted - 1).bit_length()


def partition_of(patient_id: str, n_partitions: int) -> int:
    """Stable across runs and machines (CRC-32 of the id, not Python's salted ``hash``)."""
    return zlib.crc32(patient_id.encode("utf-8")) % n_partitions


def plan_partitions(
    paths: list[Path], n_partitions: int, extension: str = ".psv"
) -> dict[int, list[Path]]:
    """Partition -> its files, in the sorted order of ``paths``; empty partitions left out."""
    plan: dict[int, list[Path]] = {}
    for path in paths:
        part = partition_of(readers.patient_id_of(path, extension), n_partitions)
        plan.setdefault(part, []).append(path)
    return dict(sorted(plan.items()))


def fingerprint(paths: list[Path], n_partitions: int, version: str) -> str:
    digest = hashlib.sha256(f"{version}|{n_partitions}\n".encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _layer_file(cache: Path, layer: str, part: int) -> Path:
    return cache / layer / f"partition={part}" / "part.parquet"


def _report_file(cache: Path, part: int) -> Path:
    return cache / "reports" / f"partition={part}.json"


def _cached_report(cache: Path, part: int, key: str) -> dict | None:
    """The partition's report when its cache entry is complete and made from the same inputs."""
    try:
        entry = json.loads(_report_file(cache, part).read_text())
    except (OSError, ValueError):
        return None
    if entry.get("fingerprint") != key or not all(
        _layer_file(cache, layer, part).is_file() for layer in LAYERS
    ):
        return None
    return entry["report"]


def _write_partition(
    cache: Path, part: int, key: str, tables: dict[str, pd.DataFrame], report: dict
) -> None:
    # Each file is written under a hidden temporary name and renamed into place, so a run started
    # at the same time (or a Parquet tool) never reads half a file.
    for layer in LAYERS:
        target = _layer_file(cache, layer, part)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = tables[layer] if layer != "quarantine" else tables[layer].astype("string")
        scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), scratch)
        os.replace(scratch, target)
    # Written last: a run killed half-way leaves no report, so the partition is recomputed.
    report_file = _report_file(cache, part)
    report_file.parent.mkdir(parents=True, exist_ok=True)
    scratch = report_file.with_name(f".{report_file.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"fingerprint": key, "report": report}, indent=1))
    os.replace(scratch, report_file)


def read_layer(cache: str | Path, layer: str, part: int) -> pd.DataFrame:
    """One layer (``observations`` / ``labels`` / ``quarantine``) of one cached partition."""
    return pq.read_table(_layer_file(Path(cache), layer, part)).to_pandas()


def _read_partition(cache: Path, part: int) -> dict[str, pd.DataFrame]:
    return {layer: read_layer(cache, layer, part) for layer in LAYERS}


def _drop_stale(cache: Path, parts: set[int]) -> None:
    """Partitions of an earlier plan (other count, files gone) would be read by a Parquet tool
    globbing the layer: removed. Only ``partition=<number>`` entries are this module's."""
    keep = {f"partition={part}" for part in parts}
    for layer in LAYERS:
        for folder in (cache / layer).glob("partition=*"):
            if folder.name not in keep and folder.name.split("=", 1)[1].isdigit():
                shutil.rmtree(folder)
    for entry in (cache / "reports").glob("partition=*.json"):
        if entry.stem not in keep and entry.stem.split("=", 1)[1].isdigit():
            entry.unlink()


def merge_reports(reports: list[dict], files_ignored: list[str]) -> dict:
    """One report for the cohort: counts summed, repairs summed per kind, column lists united."""
    merged: dict = {"domain": accounting.DOMAIN}
    for report in reports:
        for key, value in report.items():
            if key in ("domain", "files_ignored"):
                continue
            if key in _UNION_KEYS:
                merged[key] = sorted(set(merged.get(key, [])) | set(value))
            elif isinstance(value, dict):
                bucket = merged.setdefault(key, {})
                for name, count in value.items():
                    bucket[name] = bucket.get(name, 0) + count
            else:
                merged[key] = merged.get(key, 0) + value
    merged["files_ignored"] = list(files_ignored)
    return merged


def _prepare(plan: dict[int, list[Path]], n_partitions: int, cache: Path | None, read: Callable,
             validate: Callable, extra: Callable[[int], str], ignored: list[Path]) -> PreparedCohort:  # fmt: skip
    """The loop both formats share: per partition, read it back when its fingerprint (files,
    ``extra(part)``, partition count, code) is unchanged, else ``validate(part, read(part, files))``
    -> ``(clean, labels, quarantine, report)`` and cache it; then drop stale partitions and merge.

    The next partition to recompute is read on a worker thread while this one is validated:
    reading is Polars/pyarrow work that releases the GIL, validation is numpy/pandas work in this
    thread, so on two cores they overlap. At most two partitions' raw tables are held, and errors
    surface in partition order, as a plain loop raises them."""
    version = code_version() if cache is not None else ""
    keys, cached = {}, {}
    for part, files in plan.items():
        keys[part] = (
            fingerprint(files, n_partitions, version + extra(part)) if cache is not None else ""
        )
        cached[part] = _cached_report(cache, part, keys[part]) if cache is not None else None
    to_compute = [part for part in plan if cached[part] is None]
    out = {layer: [] for layer in LAYERS}
    reports, recomputed, reused = [], [], []
    writes = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="partition-read") as reader, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="partition-write") as writer:  # fmt: skip
        pending = {}

        upcoming = iter(to_compute)

        def read_ahead() -> None:
            part = next(upcoming, None)
            if part is not None:
                pending[part] = reader.submit(read, part, plan[part])

        read_ahead()
        try:
            for part in plan:
                report = cached[part]
                if report is not None:
                    tables = _read_partition(cache, part)
                    reused.append(part)
                else:
                    read_ahead()  # the one after this
                    clean, labels, quarantine, report = validate(part, pending.pop(part).result())
                    report = {k: v for k, v in report.items() if k != "files_ignored"}
                    tables = {"observations": clean, "labels": labels, "quarantine": quarantine}
                    if cache is not None:  # Parquet encoding also releases the GIL
                        writes.append(
                            writer.submit(_write_partition, cache, part, keys[part], tables, report)
                        )
                    recomputed.append(part)
                for layer in LAYERS:
                    out[layer].append(tables[layer])
                reports.append(report)
            for write in writes:
                write.result()  # a failed write fails the run, as in a plain loop
        finally:
            for future in pending.values():
                future.cancel()
    if cache is not None:
        _drop_stale(cache, set(plan))
    quarantine = pd.concat(
        [q for q in out["quarantine"] if len(q)] or [quarantine_frame()], ignore_index=True
    )
    return PreparedCohort(
        observations=_concat(out["observations"]),
        labels=_concat(out["labels"]),
        quarantine=quarantine.astype("string") if len(quarantine) else quarantine,
        report=merge_reports(reports, [str(p) for p in ignored]),
        recomputed=recomputed,
        reused=reused,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Empty partitions (a 2012 partition holding only an outcome row without a patient file)
    are left out: their empty columns are typed ``object`` and would turn the text columns to it."""
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def prepare_2019(stays: StayFolder) -> PreparedCohort:
    """Read + validate every partition of ``stays.path`` (reusing cached partitions whose
    fingerprint is unchanged) -> the same kept/quarantined records and report as
    ``validate_2019(read_2019_directory(path))``, rows grouped by partition."""
    folder = Path(stays.path)
    if not folder.is_dir():
        raise DataFormatError(folder, "is not a directory")
    paths, ignored = readers.data_files(folder, ".psv")
    if not paths:
        raise DataFormatError(folder, "no *.psv file found under the directory")
    n_partitions = partition_count(len(paths), stays.patients_per_partition)
    plan = plan_partitions(paths, n_partitions)
    cache = Path(stays.cache) if stays.cache is not None else None

    def read(_part, files):
        return readers.read_2019_files(files, folder)

    def validate(_part, wide):
        return validation_2019.validate_2019(wide)

    return _prepare(plan, n_partitions, cache, read, validate, lambda _part: "", ignored)


def prepare_2012(stays: StayFolder) -> PreparedCohort:
    """A PhysioNet 2012 folder (``<RecordID>.txt`` per patient + ``Outcomes*.txt``) partition by
    partition -> the same kept/quarantined records and report as
    ``validate_2012(read_2012_directory(path))``, rows grouped by partition.

    The outcomes files are small (one row per patient) and are read whole; each row goes to its
    patient's partition (an outcome without a patient file still gets one, and is quarantined
    there as before), and a partition's fingerprint covers its outcome rows' content, so an edited
    outcome recomputes only its patient's partition."""
    patient_paths, outcome_paths, ignored = readers.list_2012_directory(Path(stays.path))
    outcomes = readers.read_2012_outcomes(outcome_paths)
    validation.require_outcomes(outcomes, patient_paths[0])
    n_partitions = partition_count(len(patient_paths), stays.patients_per_partition)
    plan = plan_partitions(patient_paths, n_partitions, ".txt")
    outcome_part = np.array([partition_of(pid, n_partitions) for pid in outcomes["patient_id"]])
    outcomes_of = {int(part): outcomes[outcome_part == part] for part in np.unique(outcome_part)}
    plan = dict(sorted({**{part: [] for part in outcomes_of}, **plan}.items()))
    no_outcomes = outcomes.iloc[:0]

    def outcome_rows(part: int) -> str:
        rows = outcomes_of.get(part, no_outcomes)
        return hashlib.sha256(rows.to_csv(index=False).encode()).hexdigest()

    def read(_part, files):
        return readers.read_2012_files(files), readers.patients_frame(files, ".txt")

    def validate(part, raw):
        observations, patients = raw
        return validation.validate_long(
            observations, outcomes_of.get(part, no_outcomes), schema.RANGES_2012, patients
        )

    cache = Path(stays.cache) if stays.cache is not None else None
    return _prepare(plan, n_partitions, cache, read, validate, outcome_rows, ignored)


def prepare(stays: StayFolder) -> PreparedCohort:
    """The folder's format decides: ``prepare_2019`` or ``prepare_2012``."""
    return prepare_2012(stays) if stays.format == "physionet2012" else prepare_2019(stays)
