"""``ManifestFolderDataset``: the base of datasets that own a folder of files a run writes.

``outputs.json`` in the folder lists the files the last save wrote. The next save removes those it
does not write again, so a stale result (an old patient's plot, a GFF3 from a previous genome)
never sits next to new ones; files the folder holds that no save wrote are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

MANIFEST = "outputs.json"


class ManifestFolderDataset(AbstractDataset):
    def __init__(self, *, folder: str, metadata: dict[str, Any] | None = None):
        self._folder = Path(folder)
        self.metadata = metadata

    def _manifest(self) -> list[str]:
        path = self._folder / MANIFEST
        return list(json.loads(path.read_text())["files"]) if path.exists() else []

    def _record(self, written: list[str]) -> None:
        """Remove what the previous save wrote and this one did not; list what is there now."""
        for stale in set(self._manifest()) - set(written):
            (self._folder / stale).unlink(missing_ok=True)
        if written:
            (self._folder / MANIFEST).write_text(json.dumps({"files": sorted(written)}, indent=2) + "\n")
        else:
            (self._folder / MANIFEST).unlink(missing_ok=True)

    def _exists(self) -> bool:
        return (self._folder / MANIFEST).exists()

    def _describe(self) -> dict[str, Any]:
        return {"folder": str(self._folder)}
