"""Columnar read of many PhysioNet 2012 ``Time,Parameter,Value`` files with Polars (issue 21).

The 2012 counterpart of ``vitals.psv_columnar``: every file whose first line is exactly the 2012
header is read by one Polars parse, ``psv_columnar.read_group`` (every cell a string, empty cells kept as ``""`` as
the pandas reader kept them); a file the scan cannot take as it is (compressed, another header, a
scan error) is read by the per-file pandas reader, which raises ``DataFormatError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from seqhealth.vitals.psv_columnar import plain_file, read_group

RAW_COLUMNS = ["source_file", "patient_id", "time", "variable", "value"]


def read_long_files(
    paths: list[Path], patient_ids: list[str], header: list[str], read_one: Callable[[Path], pd.DataFrame]
) -> pd.DataFrame:
    """``paths`` (sorted) -> raw observations ``source_file, patient_id, time, variable, value``
    (text, files in the order given), as ``pd.concat(read_one(p) for p in paths)`` gives them."""
    files = [plain_file(Path(path), ",") for path in paths]
    scanned = [i for i, found in enumerate(files) if found is not None and found.header == tuple(header)]
    single = sorted(set(range(len(paths))) - set(scanned))
    parts: list[pl.DataFrame] = []
    names = dict(zip(header, RAW_COLUMNS[2:], strict=True))
    if scanned:
        try:
            parts.append(read_group(paths, scanned, files, ",").rename(names))
        except (pl.exceptions.PolarsError, OSError):
            single = sorted(single + scanned)
    del files  # the files' bytes: parsed
    for i in single:
        frame = read_one(Path(paths[i]))
        cells = frame[["time", "variable", "value"]]
        parts.append(pl.from_pandas(cells.astype(object).where(cells.notna(), None)).cast(pl.String)
                     .with_columns(pl.lit(i, dtype=pl.Int64).alias("_file")))  # fmt: skip
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in RAW_COLUMNS})
    raw = pl.concat(parts, how="diagonal")
    file_no = raw["_file"].to_numpy()
    if single and scanned and (np.diff(file_no) < 0).any():  # two reads: back to file order
        order = np.argsort(file_no, kind="stable")
        raw, file_no = raw[order], file_no[order]
    sources = pl.Series("source_file", [str(p) for p in paths], dtype=pl.String).gather(file_no)
    ids = pl.Series("patient_id", list(patient_ids), dtype=pl.String).gather(file_no)
    raw = raw.with_columns(sources, ids).select(RAW_COLUMNS)
    return raw.to_pandas(use_pyarrow_extension_array=True)
