"""What raw data a retrain sees: files, sizes and content hashes of every partition of a task.

New data arrives as partitions ``data/01_raw/<task>/<YYYY-MM-DD>/...``; the task readers already
search folders recursively, so reading ``data/01_raw/<task>`` ingests every partition up to now.
The fingerprint is computed from bytes on disk, before any parsing, so an unchanged data state is
detected (and the retrain skipped) in the time it takes to hash the files.

Only names relative to the task folder, sizes and hashes are kept: never file contents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def data_state(root: Path) -> dict:
    """``{"fingerprint", "n_files", "n_bytes", "partitions": {name: n_files}, "files": [...]}``.

    Hidden files (``.gitkeep``, editor swap files) are not data and are ignored. Partitions are
    the first-level folders; files directly in the task folder count as partition ``.``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"raw data folder {root} does not exist (expected data/01_raw/<task>/<partition>/...)")
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    entries, partitions = [], {}
    for path in files:
        relative = path.relative_to(root)
        partition = relative.parts[0] if len(relative.parts) > 1 else "."
        partitions[partition] = partitions.get(partition, 0) + 1
        entries.append({"path": relative.as_posix(), "size": path.stat().st_size, "sha256": file_sha256(path)})
    summary = hashlib.sha256("\n".join(f"{e['path']}\t{e['size']}\t{e['sha256']}" for e in entries).encode())
    return {
        "fingerprint": summary.hexdigest()[:16],
        "n_files": len(entries),
        "n_bytes": int(sum(e["size"] for e in entries)),
        "partitions": partitions,
        "files": entries,
    }


def public_summary(state: dict) -> dict:
    """The part of a data state that may go to MLflow: counts and the overall hash."""
    return {k: state[k] for k in ("fingerprint", "n_files", "n_bytes")} | {"n_partitions": len(state["partitions"])}
