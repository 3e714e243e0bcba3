"""Kedro dataset: new raw files to score, read the way the task's training input is read.

Labels are optional here (a 2012 folder without ``Outcomes*.txt``, ``.psv`` files whose
``SepsisLabel`` is blank or absent): prediction never reads them.

``load()`` -> ``{"task": str, "format": str, "raw": ...}`` where ``raw`` is

* DNA tasks: the records frame of ``SequenceFilesDataset`` (FASTA/FASTQ/GenBank file or folder);
* ``vitals_mortality``: the 2012 raw dict (``observations``, ``patients``) from a folder or one
  patient ``.txt`` file;
* ``vitals_sepsis``: the 2019 wide frame from a folder or one ``.psv`` file;
* either vitals task: a plain long CSV ``patient_id,time,variable,value`` (format ``long_csv``).

Example::

    predict.raw_input:
      type: seqhealth.datasets.raw_input.RawInputDataset
      task: ${runtime_params:predict.task, unset}
      path: ${runtime_params:predict.path, unset}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from seqhealth.genomics.readers import read_sequence_records
from seqhealth.quality import DataFormatError
from seqhealth.tasks import TASK_NAMES
from seqhealth.vitals.readers import read_2012_file, read_long_csv
from seqhealth.vitals.schema import PSV_LABEL, PSV_TIME

_OUTCOMES_GLOB = "Outcomes*.txt"


def read_2012_for_prediction(path: Path) -> dict[str, pd.DataFrame]:
    """Patient ``.txt`` files (a folder, recursively, or one file); outcome files are skipped."""
    paths = [path] if path.is_file() else sorted(p for p in path.rglob("*.txt") if not p.match(_OUTCOMES_GLOB))
    if not paths:
        raise DataFormatError(path, "no patient *.txt file found")
    return {
        "observations": pd.concat([read_2012_file(p) for p in paths], ignore_index=True),
        "outcomes": None,
        "patients": pd.DataFrame({"source_file": [str(p) for p in paths], "patient_id": [p.stem for p in paths]}),
    }


def _read_psv_unlabelled(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataFormatError(path, f"cannot be parsed as a .psv file: {error}") from error
    if PSV_TIME not in frame.columns:
        raise DataFormatError(path, f"not a PhysioNet 2019 file: header lacks {PSV_TIME}")
    # Unknown labels are fine for scoring; validation only needs a 0/1 placeholder.
    frame[PSV_LABEL] = "0"
    frame.insert(0, "row", range(len(frame)))
    frame.insert(0, "patient_id", path.stem)
    frame.insert(0, "source_file", str(path))
    return frame


def read_2019_for_prediction(path: Path) -> pd.DataFrame:
    """``.psv`` files (a folder, recursively, or one file) with ``SepsisLabel`` optional."""
    paths = [path] if path.is_file() else sorted(path.rglob("*.psv"))
    if not paths:
        raise DataFormatError(path, "no *.psv file found")
    frames = [_read_psv_unlabelled(p) for p in paths]
    wide = pd.concat(frames, ignore_index=True)
    wide.attrs["files"] = [
        {"source_file": str(p), "patient_id": p.stem, "columns": list(f.columns[3:])} for p, f in zip(paths, frames)
    ]
    return wide


def read_raw_input(task: str, path: Path) -> dict:
    """Dispatch on the task (and on ``.csv`` for the plain long vitals format)."""
    if task not in TASK_NAMES:
        raise DatasetError(
            f"predict.task must be one of {TASK_NAMES}, got {task!r} "
            '(kedro run --pipeline predict --params "predict.task=<task>,predict.path=<file or folder>")'
        )
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"predict.path {str(path)!r} does not exist")
    if task.startswith("dna"):
        return {"task": task, "format": "sequences", "raw": read_sequence_records(path)}
    if path.is_file() and path.suffix.lower() == ".csv":
        return {"task": task, "format": "long_csv", "raw": read_long_csv(path)}
    if task == "vitals_mortality":
        return {"task": task, "format": "physionet2012", "raw": read_2012_for_prediction(path)}
    return {"task": task, "format": "physionet2019", "raw": read_2019_for_prediction(path)}


class RawInputDataset(AbstractDataset[None, dict]):
    """Read-only raw input of ``task`` at ``path`` (a file or a folder)."""

    def __init__(self, task: str, path: str, metadata: dict[str, Any] | None = None):
        self._task = task
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict:
        return read_raw_input(self._task, self._path)

    def save(self, data) -> None:
        raise DatasetError(f"RawInputDataset({self._path}) is read-only; save() is not supported")

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"task": self._task, "path": str(self._path)}
