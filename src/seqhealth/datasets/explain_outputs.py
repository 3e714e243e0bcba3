"""``ExplainOutputsDataset``: a folder of explanations, ``data/08_reporting/<task>/explain/``.

Saved data is ``{"tables": {name: DataFrame}, "figures": {file name: Figure}}``: each table is
written as ``<name>.parquet``, each figure as a PNG under ``plots/``. Files a previous run wrote
that this run does not produce are removed (``outputs.json`` lists what is there), so a stale
patient's plot never sits next to a new explanation.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from seqhealth.datasets.manifest_folder import ManifestFolderDataset


def write_explanations(folder: Path, data: dict, close: bool = True) -> list[str]:
    """Write tables and figures under ``folder``; returns the relative file names written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (data.get("tables") or {}).items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
        written.append(f"{name}.parquet")
    if data.get("figures"):
        (folder / "plots").mkdir(exist_ok=True)
    for name, figure in (data.get("figures") or {}).items():
        if Path(name).name != name:
            raise ValueError(f"figure name {name!r} must be a plain file name")
        figure.savefig(folder / "plots" / name, dpi=110, bbox_inches="tight")
        if close:
            plt.close(figure)
        written.append(f"plots/{name}")
    return written


class ExplainOutputsDataset(ManifestFolderDataset):
    def save(self, data: dict) -> None:
        self._record(write_explanations(self._folder, data))

    def load(self) -> dict:
        files = self._manifest()
        tables = {Path(f).stem: pd.read_parquet(self._folder / f) for f in files if f.endswith(".parquet")}
        return {"tables": tables, "figures": [f for f in files if f.startswith("plots/")]}
