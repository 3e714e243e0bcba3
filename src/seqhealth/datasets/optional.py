"""``OptionalDataset(dataset)``: any Kedro dataset, made optional.

Load -> None when absent; saving ``SKIPPED`` writes nothing. ``dataset`` is the wrapped
dataset's config, as in the catalog (``{type: json.JSONDataset, filepath: ...}``). Used by
retraining for the previous decision / frozen set (absent at a task's first retrain) and for what
a skipped retrain does not produce (it must not blank the last files).
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset

from seqhealth.retraining.skipped import is_skipped


class OptionalDataset(AbstractDataset):
    def __init__(self, dataset: dict, metadata: dict[str, Any] | None = None):
        self._dataset = AbstractDataset.from_config("wrapped", dict(dataset))
        self.metadata = metadata

    def load(self):
        return self._dataset.load() if self._dataset.exists() else None

    def save(self, data) -> None:
        if not is_skipped(data):
            self._dataset.save(data)

    def _exists(self) -> bool:
        return self._dataset.exists()

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._dataset._describe()}
