"""``PredictOutputsDataset``: the further files a task's batch prediction writes next to its
predictions (``Task.predict_outputs``), e.g. ``genes.gff3`` and ``genes.csv`` for gene calls.

Saved data is ``{file name: text | DataFrame}``: text is written as is, a table as CSV. A task
with no further outputs saves ``{}`` and nothing is written; files a previous run wrote under
names this run does not produce are removed (and listed in ``outputs.json``), so a stale result
never sits next to new predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from seqhealth.datasets.manifest_folder import ManifestFolderDataset


class PredictOutputsDataset(ManifestFolderDataset):
    def save(self, data: dict) -> None:
        if data:
            self._folder.mkdir(parents=True, exist_ok=True)
        for name, value in data.items():
            if Path(name).name != name:
                raise ValueError(f"predict output name {name!r} must be a plain file name")
            if isinstance(value, pd.DataFrame):
                value.to_csv(self._folder / name, index=False)
            else:
                (self._folder / name).write_text(str(value))
        self._record(list(data))

    def load(self) -> dict:
        out: dict[str, Any] = {}
        for name in self._manifest():
            path = self._folder / name
            out[name] = pd.read_csv(path) if name.endswith(".csv") else path.read_text()
        return out
