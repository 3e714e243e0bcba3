"""PhysioNet 2019 stays prepared partition by partition, cached as partitioned Parquet (issue 21).

A cohort is cut into partitions by a hash of the (normalised) patient id, so every file of one
patient id lands in the same partition and duplicate-patient detection ("the first file in sorted
order wins") stays exactly what ``validate_2019`` does on the whole folder. Each partition is read
and validated on its own (peak memory follows the partition, not the cohort) and its validated
tables are written as hive-partitioned Parquet, readable by any Parquet tool::

    <cache>/observations/partition=3/part.parquet   patient_id, time_h, variable, value
    <cache>/labels/partition=3/part.parquet         patient_id, time_h, label
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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from seqhealth.quality import DataFormatError, quarantine_frame
from seqhealth.vitals import accounting, cells, psv_columnar, readers, schema, validation_2019

LAYERS = ("observations", "labels", "quarantine")
_CODE_MODULES = (readers, psv_columnar, validation_2019, cells, accounting, schema)
# Report entries that are lists (merged as a sorted union) or dicts of counts (summed per key);
# every other count is summed over the partitions.
_UNION_KEYS = ("unknown_columns",)


def code_version() -> str:
    """Hash of the reading/validation source and of the parsing libraries' versions: a cached
    partition made by other code is recomputed."""
    digest = hashlib.sha256()
    for module in _CODE_MODULES:
        digest.update(Path(module.__file__).read_bytes())
    digest.update(
        f"pandas {pd.__version__} polars {pl.__version__} pyarrow {pa.__version__}".encode()
    )
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StayFolder:
    """A folder of ``.psv`` stays to prepare partition by partition (what ``PhysioNet2019Dataset``
    loads when it is given a ``prepared_cache``); ``cache=None`` prepares without caching."""

    path: Path
    cache: Path | None = None
    patients_per_partition: int = 1000


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


def plan_partitions(paths: list[Path], n_partitions: int) -> dict[int, list[Path]]:
    """Partition -> its files, in the sorted order of ``paths``; empty partitions left out."""
    plan: dict[int, list[Path]] = {}
    for path in paths:
        plan.setdefault(partition_of(readers.patient_id_of(path, ".psv"), n_partitions), []).append(
            path
        )
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
    for layer in LAYERS:
        target = _layer_file(cache, layer, part)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = tables[layer] if layer != "quarantine" else tables[layer].astype("string")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target)
    # Written last: a run killed half-way leaves no report, so the partition is recomputed.
    _report_file(cache, part).parent.mkdir(parents=True, exist_ok=True)
    _report_file(cache, part).write_text(
        json.dumps({"fingerprint": key, "report": report}, indent=1)
    )


def _read_partition(cache: Path, part: int) -> dict[str, pd.DataFrame]:
    return {layer: pq.read_table(_layer_file(cache, layer, part)).to_pandas() for layer in LAYERS}


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
    version = code_version() if cache is not None else ""
    out = {layer: [] for layer in LAYERS}
    reports, recomputed, reused = [], [], []
    for part, files in plan.items():
        key = fingerprint(files, n_partitions, version) if cache is not None else ""
        report = _cached_report(cache, part, key) if cache is not None else None
        if report is not None:
            tables = _read_partition(cache, part)
            reused.append(part)
        else:
            clean, labels, quarantine, report = validation_2019.validate_2019(
                readers.read_2019_files(files, folder)
            )
            report = {k: v for k, v in report.items() if k != "files_ignored"}
            tables = {"observations": clean, "labels": labels, "quarantine": quarantine}
            if cache is not None:
                _write_partition(cache, part, key, tables, report)
            recomputed.append(part)
        for layer in LAYERS:
            out[layer].append(tables[layer])
        reports.append(report)
    if cache is not None:
        _drop_stale(cache, set(plan))
    quarantine = pd.concat(
        [q for q in out["quarantine"] if len(q)] or [quarantine_frame()], ignore_index=True
    )
    return PreparedCohort(
        observations=pd.concat(out["observations"], ignore_index=True),
        labels=pd.concat(out["labels"], ignore_index=True),
        quarantine=quarantine.astype("string") if len(quarantine) else quarantine,
        report=merge_reports(reports, [str(p) for p in ignored]),
        recomputed=recomputed,
        reused=reused,
    )
