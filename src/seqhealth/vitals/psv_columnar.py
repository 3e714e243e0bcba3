"""Columnar read of many PhysioNet 2019 ``.psv`` files with Polars (issue 21).

Files that share a header are read by one Polars parse (every cell a string, empty cells kept as
``""`` as the pandas reader kept them), so a cohort of thousands of stays costs one columnar read
instead of one ``pandas.read_csv`` per file: the files' data lines are joined into one buffer (one
parse; the row count of each file is its number of lines) and any file with quotes or CR line
ends goes through a multi-file Polars scan instead (``read_group``). Anything neither can take as
it is (a compressed file, an unreadable or odd header, blank lines, a parse that fails) is read by the
per-file pandas reader, which names the file in a ``DataFormatError`` exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PlainFile:
    """A text file a columnar parse can take as it is: its header and, when the data lines are
    plain too (no quote, no carriage return, no blank line), those lines newline-terminated and
    their count (``body`` None otherwise: a multi-file scan reads it)."""

    header: tuple[str, ...]
    body: bytes | None
    rows: int


def plain_file(path: Path, separator: str = "|") -> PlainFile | None:
    """The file's header (and plain data lines) when a columnar read can take it as it is, else
    None (compressed, unreadable, BOM, quoted or repeated names: the per-file reader's job)."""
    if path.name.lower().endswith(".gz"):
        return None
    try:
        data = Path(path).read_bytes()
        end = data.find(b"\n")
        line = (data if end < 0 else data[:end]).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    line = line.rstrip("\r\n")
    names = tuple(line.split(separator))
    if not line or line.startswith("\ufeff") or '"' in line or len(set(names)) != len(names):
        return None
    body = b"" if end < 0 else data[end + 1 :]
    if body.startswith((b"\n", b"\r\n")) or b"\n\n" in body or b"\n\r\n" in body:
        return None  # blank lines: pandas skips them, a Polars parse makes rows of them
    if b'"' in body or b"\r" in body:
        return PlainFile(names, None, -1)
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return PlainFile(names, body, body.count(b"\n"))


def read_group(paths: list[Path], members: list[int], files: list[PlainFile], separator: str) -> pl.DataFrame:
    """Files sharing one header -> every cell as a string (``""`` kept) plus ``_file`` (the
    file's index in ``paths``), files in ``members`` order. Files with plain data lines are parsed
    by ONE Polars read of those lines joined: with thousands of small files, a multi-file scan's
    per-file cost was most of the read. Their row counts are known from the newlines, so every row
    keeps its file. Other files (quotes, CR line ends) go through the multi-file scan.
    A Polars error propagates (the caller then reads the files one by one)."""
    names = list(files[members[0]].header)
    joined = [i for i in members if files[i].body is not None]
    scanned = [i for i in members if files[i].body is None]
    parts = []
    if joined:
        counts = np.asarray([files[i].rows for i in joined], dtype=np.int64)
        buffer = b"".join(files[i].body for i in joined)
        if buffer:
            frame = pl.read_csv(buffer, has_header=False, new_columns=names, separator=separator,
                                infer_schema=False, empty_string_is_null=False)  # fmt: skip
        else:
            frame = pl.DataFrame(schema={name: pl.String for name in names})
        if frame.height != int(counts.sum()):  # a line the parser did not take as one row
            scanned, joined = sorted(scanned + joined), []
        else:
            parts.append(frame.with_columns(pl.Series("_file", np.repeat(joined, counts), dtype=pl.Int64)))
    if scanned:
        frame = _scan([paths[i] for i in scanned], separator)
        ordinal = {str(paths[i]): i for i in scanned}
        parts.append(frame.with_columns(pl.col("source_file").replace_strict(ordinal, return_dtype=pl.Int64)
                                        .alias("_file")).drop("source_file"))  # fmt: skip
    frame = pl.concat(parts, how="diagonal") if len(parts) > 1 else parts[0]
    return frame.sort("_file", maintain_order=True) if len(parts) > 1 else frame


def _scan(paths: list[Path], separator: str = "|") -> pl.DataFrame:
    return pl.scan_csv(
        [str(p) for p in paths], separator=separator, infer_schema=False, empty_string_is_null=False, glob=False,
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
    files = [plain_file(Path(path)) for path in paths]
    groups: dict[tuple[str, ...], list[int]] = {}
    single: list[int] = []
    for i, found in enumerate(files):
        if found is None:
            single.append(i)
        else:
            groups.setdefault(found.header, []).append(i)
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
            frame = read_group(paths, members, files, "|")
        except (pl.exceptions.PolarsError, OSError):
            single.extend(members)
            continue
        if label_optional:
            frame = frame.with_columns(pl.lit("0").alias(label_column))
        parts.append(frame)
        for i in members:
            columns_of[i] = names
    del files  # the files' bytes: parsed
    for i in sorted(single):
        frame = read_one(Path(paths[i]), label_optional)
        columns_of[i] = list(frame.columns[3:])
        cells = {c: [None if pd.isna(v) else str(v) for v in frame[c]] for c in frame.columns[3:]}
        parts.append(pl.DataFrame(cells, schema={c: pl.String for c in cells})
                     .with_columns(pl.lit(i, dtype=pl.Int64).alias("_file")))  # fmt: skip
    ordered_columns: list[str] = []
    seen: set[str] = set()
    for names in columns_of:
        for name in names or []:
            if name not in seen:
                seen.add(name)
                ordered_columns.append(name)
    wide = pl.concat(parts, how="diagonal") if parts else pl.DataFrame(schema={"_file": pl.Int64})
    file_no = wide["_file"].to_numpy()
    if (np.diff(file_no) < 0).any():  # several groups: back to the sorted file order
        order = np.argsort(file_no, kind="stable")
        wide, file_no = wide[order], file_no[order]
    # Row number within its file: the position after the file's first row.
    starts = np.flatnonzero(np.r_[True, file_no[1:] != file_no[:-1]]) if len(file_no) else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[starts, len(file_no)]).astype(np.int64)
    row = np.arange(len(file_no), dtype=np.int64) - np.repeat(starts, lengths)
    ids = pl.Series("patient_id", list(patient_ids), dtype=pl.String)
    sources = pl.Series("source_file", [str(p) for p in paths], dtype=pl.String)
    wide = wide.with_columns(sources.gather(file_no), ids.gather(file_no), pl.Series("row", row))
    wide = wide.select(_META + [c for c in ordered_columns if c in wide.columns])
    return wide.to_pandas(use_pyarrow_extension_array=True), [names or [] for names in columns_of]
