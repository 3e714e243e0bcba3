"""Read the ``dna_classify`` labels table (TSV or CSV) with the delimiter decided from its header.

pandas' delimiter sniffer (``sep=None``) guesses from character frequencies and will split a
one-column header such as ``accession`` at a letter (``acce | ion``). Here the rule is explicit:
a tab in the header line means TSV, otherwise a comma means CSV, otherwise the table has one
column. Every cell is read as text with blanks kept as ``""`` (``match_labels`` reports blank
ids and labels by row); ``\\r``, ``\\r\\n`` and ``\\n`` line ends and gzip are all accepted.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import pandas as pd

from seqhealth.quality import DataFormatError

LABEL_TABLE_SUFFIXES = (".tsv", ".csv", ".tsv.gz", ".csv.gz")


def _header_line(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataFormatError(path, f"cannot read labels table ({error})") from None
    text = raw[:65536].decode("utf-8-sig", errors="replace")
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    if not lines:
        raise DataFormatError(path, "empty labels table (no header)")
    return lines[0]


def delimiter_of(header: str) -> str:
    """``\\t`` when the header has a tab, else ``,`` when it has a comma, else ``\\t`` (which
    leaves a one-column table whole: its cells may contain commas but never tabs)."""
    if "\t" in header or "," not in header:
        return "\t"
    return ","


def read_labels_table(path) -> pd.DataFrame:
    """One labels table as strings; column names are stripped of surrounding whitespace."""
    path = Path(path)
    sep = delimiter_of(_header_line(path))
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                            encoding="utf-8-sig", skip_blank_lines=True)  # fmt: skip
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataFormatError(path, f"labels table cannot be parsed: {error}") from None
    table.columns = [str(column).strip() for column in table.columns]
    table.attrs["source_file"] = str(path)
    return table


def is_labels_table(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(LABEL_TABLE_SUFFIXES)


def read_labels_tables(root) -> pd.DataFrame:
    """A file, or every ``*.tsv``/``*.csv`` (any case, optionally ``.gz``) under a folder (one per
    partition, sorted), concatenated."""
    root = Path(root)
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if is_labels_table(p))
    if not paths:
        raise DataFormatError(root, "no labels table (*.tsv / *.csv, any case, optionally .gz)")
    tables = [read_labels_table(p) for p in paths]
    if len(tables) == 1:
        return tables[0]
    merged = pd.concat(tables, ignore_index=True).fillna("")  # a column absent from one table
    merged.attrs["source_file"] = ", ".join(map(str, paths))
    return merged
