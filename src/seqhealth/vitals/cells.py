"""Columnar judging of text cells with pyarrow compute (issue 21).

Validation reads every cell as text. Instead of turning a whole column into Python strings, a
column stays an Arrow string array: missing cells are found by one ``is_in``, and numbers are
parsed once per *distinct* text (``pandas.to_numeric``, the parser validation always used, so
what counts as a number does not change) and gathered back by ``index_in``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MISSING_CELLS = ("", "NaN", "nan", "NA", "N/A", "null")
_MISSING = pa.array(MISSING_CELLS, type=pa.large_string())


def text_array(column: pd.Series) -> pa.Array:
    """A column as an Arrow string array (null where pandas sees a missing cell); non-text cells
    of a hand-made frame are written as ``str(value)``, as ``numpy.astype(str)`` wrote them."""
    to_arrow = getattr(column.array, "__arrow_array__", None)  # Arrow-backed text: no copy, no isna pass
    try:
        array = to_arrow() if to_arrow is not None else pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        array = None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array is None or not (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        array = pa.array([None if pd.isna(v) else str(v) for v in column], type=pa.large_string())
    return array.cast(pa.large_string())


def present_mask(array: pa.Array) -> np.ndarray:
    """True where the cell holds something (not null and not one of ``MISSING_CELLS``)."""
    missing = pc.is_in(array, value_set=_MISSING).to_numpy(zero_copy_only=False)
    return ~(np.asarray(missing, dtype=bool) | array.is_null().to_numpy(zero_copy_only=False))


def numbers(array: pa.Array) -> np.ndarray:
    """``pandas.to_numeric(text.strip(), errors="coerce")`` of every cell as float64 (NaN where it
    is not a number or the cell is null), parsed once per distinct text."""
    return per_distinct(array, lambda texts: pd.to_numeric(texts.str.strip(), errors="coerce"))


def per_distinct(array: pa.Array, parse) -> np.ndarray:
    """``parse`` (a Series of texts -> numbers) applied once per distinct text of ``array`` and
    gathered back to every cell as float64; NaN for null cells."""
    distinct = pc.unique(array.drop_null())
    if len(distinct) == 0:
        return np.full(len(array), np.nan)
    parsed = parse(pd.Series(distinct.to_pylist(), dtype=object))
    parsed = np.append(pd.Series(parsed).to_numpy(dtype=float, na_value=np.nan), np.nan)
    index = pc.index_in(array, value_set=distinct).fill_null(len(distinct))
    return parsed[index.to_numpy(zero_copy_only=False)]
