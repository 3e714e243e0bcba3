"""Columnar read of many PhysioNet 2012 ``Time,Parameter,Value`` files with Polars (issue 21).

The 2012 counterpart of ``vitals.psv_columnar``: every file whose first line is exactly the 2012
header is read by one multi-file Polars scan (every cell a string, empty cells kept as ``""`` as
the pandas reader kept them); a file the scan cannot take as it is (compressed, another header, a
scan error) is read by the per-file pandas reader, which raises ``DataFormatError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from seqhealth.vitals.psv_columnar import plain_header

RAW_COLUMNS = ["source_file", "patient_id", "time", "variable", "value"]


def read_long_files(
    paths: list[Path], patient_ids: list[str], header: list[str], read_one: Callable[[Path], pd.DataFrame]
) -> pd.DataFrame:
    """``paths`` (sorted) -> raw observations ``source_file, patient_id, time, variable, value``
    (text, files in the order given), as ``pd.concat(read_one(p) for p in paths)`` gives them."""
    scanned = [i for i, path in enumerate(paths) if plain_header(Path(path), ",") == tuple(header)]
    single = sorted(set(range(len(paths))) - set(scanned))
    parts: list[pl.DataFrame] = []
    names = dict(zip(header, RAW_COLUMNS[2:], strict=True))
    if scanned:
        try:
            frame = pl.scan_csv(
                [str(paths[i]) for i in scanned], separator=",", infer_schema=False, empty_string_is_null=False,
                glob=False, include_file_paths="source_file",
            ).collect()  # fmt: skip
            parts.append(frame.rename(names))
        except (pl.exceptions.PolarsError, OSError):
            single = sorted(single + scanned)
    for i in single:
        frame = read_one(Path(paths[i]))
        parts.append(pl.from_pandas(frame[["source_file", "time", "variable", "value"]].astype(object).where(
            frame[["source_file", "time", "variable", "value"]].notna(), None)).cast(pl.String))  # fmt: skip
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in RAW_COLUMNS})
    raw = pl.concat(parts, how="diagonal")
    ordinal = {str(p): i for i, p in enumerate(paths)}
    file_no = raw["source_file"].replace_strict(ordinal, return_dtype=pl.Int64)
    ids = pl.Series("patient_id", list(patient_ids), dtype=pl.String).gather(file_no)
    raw = raw.with_columns(ids).select(RAW_COLUMNS)
    if single and scanned and (np.diff(file_no.to_numpy()) < 0).any():  # two reads: back to file order
        raw = raw[np.argsort(file_no.to_numpy(), kind="stable")]
    return raw.to_pandas(use_pyarrow_extension_array=True)
