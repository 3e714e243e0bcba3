"""Columnar read of many PhysioNet 2019 ``.psv`` files with Polars (issue 21).

Files that share a header are read by one multi-file Polars scan (every cell a string, empty
cells kept as ``""`` as the pandas reader kept them), so a cohort of thousands of stays costs one
columnar read instead of one ``pandas.read_csv`` per file. Anything the scan cannot take as it is
(a compressed file, an unreadable or odd header, a scan that fails) is read by the per-file pandas
reader, which names the file in a ``DataFormatError`` exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

_META = ["source_file", "patient_id", "row"]


class FileListing(tuple):
    """``attrs["files"]`` of the wide frame: read-only, so pandas' deep copy of ``attrs`` on every
    operation shares it instead of copying thousands of dicts each time."""

    def __deepcopy__(self, memo):
        return self


def plain_header(path: Path, separator: str = "|") -> tuple[str, ...] | None:
    """The ``separator``-separated header when a multi-file scan can take the file as it is, else
    None (compressed, unreadable, BOM, quoted or repeated names: the per-file reader's job)."""
    if path.name.lower().endswith(".gz"):
        return None
    try:
        with open(path, "rb") as handle:
            line = handle.readline().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    line = line.rstrip("\r\n")
    names = tuple(line.split(separator))
    if not line or line.startswith("\ufeff") or '"' in line or len(set(names)) != len(names):
        return None
    return names


def _scan(paths: list[Path]) -> pl.DataFrame:
    return pl.scan_csv(
        [str(p) for p in paths], separator="|", infer_schema=False, empty_string_is_null=False, glob=False,
        include_file_paths="source_file",
    ).collect()  # fmt: skip


def read_psv_files(
    paths: list[Path],
    patient_ids: list[str],
    read_one: Callable[[Path, bool], pd.DataFrame],
    label_optional: bool,
    time_column: str,
    label_column: str,
) -> tuple[pd.DataFrame, list[list[str]]]:
    """``paths`` (sorted) -> the wide frame (``source_file, patient_id, row`` + the files' columns,
    str, files in the order given) and each file's own columns. ``read_one`` is the per-file reader
    (``read_2019_file``) used where the scan cannot be (and that raises for a bad file)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    single: list[int] = []
    for i, path in enumerate(paths):
        header = plain_header(Path(path))
        if header is None:
            single.append(i)
        else:
            groups.setdefault(header, []).append(i)
    columns_of: list[list[str] | None] = [None] * len(paths)
    parts: list[pl.DataFrame] = []
    for header, members in groups.items():
        names = list(header)
        if label_optional:
            names = [c for c in names if c != label_column] + [label_column]
        missing = [c for c in (time_column, label_column) if c not in names]
        if missing:  # let the per-file reader raise its DataFormatError for the first such file
            read_one(Path(paths[members[0]]), label_optional)
        try:
            frame = _scan([paths[i] for i in members])
        except (pl.exceptions.PolarsError, OSError):
            single.extend(members)
            continue
        if label_optional:
            frame = frame.with_columns(pl.lit("0").alias(label_column))
        parts.append(frame)
        for i in members:
            columns_of[i] = names
    for i in sorted(single):
        frame = read_one(Path(paths[i]), label_optional)
        columns_of[i] = list(frame.columns[3:])
        cells = {c: [None if pd.isna(v) else str(v) for v in frame[c]] for c in frame.columns[3:]}
        parts.append(pl.DataFrame(cells, schema={c: pl.String for c in cells})
                     .with_columns(pl.lit(str(paths[i])).alias("source_file")))  # fmt: skip
    ordered_columns: list[str] = []
    seen: set[str] = set()
    for names in columns_of:
        for name in names or []:
            if name not in seen:
                seen.add(name)
                ordered_columns.append(name)
    wide = pl.concat(parts, how="diagonal") if parts else pl.DataFrame(schema={"source_file": pl.String})
    # File ordinal of each row: a scan keeps its files' order, so a run of one path is one file.
    order = {str(p): i for i, p in enumerate(paths)}
    source = wide["source_file"]
    changes = (source != source.shift(1)).fill_null(True).to_numpy()
    starts = np.flatnonzero(changes).astype(np.int64)
    run_file = np.asarray([order[name] for name in source.gather(starts)], dtype=np.int64)
    lengths = np.diff(np.r_[starts, len(wide)]).astype(np.int64)
    file_no = np.repeat(run_file, lengths)
    row = np.arange(len(wide), dtype=np.int64) - np.repeat(starts, lengths)
    ids = pl.Series("patient_id", list(patient_ids), dtype=pl.String)
    wide = wide.with_columns(ids.gather(file_no), pl.Series("row", row))
    if (np.diff(file_no) < 0).any():  # several scans: back to the sorted file order
        wide = wide[np.argsort(file_no, kind="stable")]
    wide = wide.select(_META + [c for c in ordered_columns if c in wide.columns])
    return wide.to_pandas(use_pyarrow_extension_array=True), [names or [] for names in columns_of]
