"""``PredictOutputsDataset``: the further files a task's batch prediction writes next to its
predictions (``Task.predict_outputs``), e.g. ``genes.gff3`` and ``genes.csv`` for gene calls.

Saved data is ``{file name: text | DataFrame}``: text is written as is, a table as CSV. A task
with no further outputs saves ``{}`` and nothing is written; files a previous run wrote under
names this run does not produce are removed (and listed in ``outputs.json``), so a stale result
never sits next to new predictions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

_MANIFEST = "outputs.json"


class PredictOutputsDataset(AbstractDataset):
    def __init__(self, *, folder: str, metadata: dict[str, Any] | None = None):
        self._folder = Path(folder)
        self.metadata = metadata

    def _manifest(self) -> list[str]:
        path = self._folder / _MANIFEST
        return list(json.loads(path.read_text())["files"]) if path.exists() else []

    def save(self, data: dict) -> None:
        for stale in set(self._manifest()) - set(data):
            (self._folder / stale).unlink(missing_ok=True)
        if not data:
            (self._folder / _MANIFEST).unlink(missing_ok=True)
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        for name, value in data.items():
            if Path(name).name != name:
                raise ValueError(f"predict output name {name!r} must be a plain file name")
            if isinstance(value, pd.DataFrame):
                value.to_csv(self._folder / name, index=False)
            else:
                (self._folder / name).write_text(str(value))
        (self._folder / _MANIFEST).write_text(json.dumps({"files": sorted(data)}, indent=2) + "\n")

    def load(self) -> dict:
        out: dict[str, Any] = {}
        for name in self._manifest():
            path = self._folder / name
            out[name] = pd.read_csv(path) if name.endswith(".csv") else path.read_text()
        return out

    def _exists(self) -> bool:
        return (self._folder / _MANIFEST).exists()

    def _describe(self) -> dict[str, Any]:
        return {"folder": str(self._folder)}
