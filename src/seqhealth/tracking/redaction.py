"""Input paths never reach MLflow: a path is replaced by a fingerprint of what it points to.

File names of clinical exports ARE identifiers (a PhysioNet 2012 file is ``<RecordID>.txt``), and
so are folder names (``p000123/``). A hash of the path string would not hide them (RecordIDs are
six digits: hash them all and compare), so a path that exists becomes a fingerprint of its
CONTENT (file: size + first MiB; folder: names, sizes and times of its entries, hashed together),
which identifies the data version without being invertible, and a path that does not exist is
withheld. URIs (``models:/``, ``runs:/``, ``sqlite:///``, ``http://``) are project resources, not
input data, and stay readable.

Applied to every parameter kedro-mlflow and ``TaskRunHooks`` log and to the run's
``extra_params`` tag, in every pipeline (train, predict, retrain, tune).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_DATA_SUFFIXES = (".txt", ".psv", ".csv", ".tsv", ".fasta", ".fa", ".fna", ".gb", ".gbk", ".genbank", ".gz",
                  ".parquet", ".json", ".xlsx")  # fmt: skip
_HEAD_BYTES = 1 << 20
_MAX_ENTRIES = 20_000
WITHHELD = "<path withheld>"


def looks_like_path(value: str) -> bool:
    if _URI.match(value):
        return False
    return "/" in value or "\\" in value or value.lower().endswith(_DATA_SUFFIXES) or _exists(value)


def _exists(value: str) -> bool:
    try:
        return bool(value) and len(value) < 4096 and os.path.exists(value)
    except (OSError, ValueError):
        return False


_SEEN: dict[str, str] = {}


def path_fingerprint(value: str) -> str:
    """``fingerprint:<16 hex>`` of an existing file or folder; ``WITHHELD`` otherwise.

    Computed once per process: a parameter is logged again by every node that takes it, and
    MLflow refuses a changed value (a folder such as the checkpoints changes during the run)."""
    if value not in _SEEN:
        _SEEN[value] = _fingerprint(value)
    return _SEEN[value]


def _fingerprint(value: str) -> str:
    path = Path(value).expanduser()
    digest = hashlib.sha256()
    try:
        if path.is_file():
            stat = path.stat()
            digest.update(f"file {stat.st_size}".encode())
            with path.open("rb") as handle:
                digest.update(handle.read(_HEAD_BYTES))
        elif path.is_dir():
            count = 0
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    stat = (Path(root) / name).stat()
                    relative = os.path.relpath(os.path.join(root, name), path)
                    digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
                    count += 1
                    if count >= _MAX_ENTRIES:
                        break
                if count >= _MAX_ENTRIES:
                    break
        else:
            return WITHHELD
    except OSError:
        return WITHHELD
    return f"fingerprint:{digest.hexdigest()[:16]}"


def redact(value):
    """``value`` with every path-like string (in dicts, lists, tuples) replaced (see module doc)."""
    if isinstance(value, str):
        return path_fingerprint(value) if looks_like_path(value) else value
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(item) for item in value)
    return value
