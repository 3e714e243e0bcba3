"""The task's model input for tuning, with an error that says how to produce it."""

from __future__ import annotations

from pathlib import PurePosixPath

from kedro_datasets.pickle import PickleDataset


class TaskModelInputDataset(PickleDataset):
    """``data/05_model_input/<task>/model_input.pkl``, written by ``kedro run --pipeline <task>``."""

    def __init__(self, *, filepath: str, task: str, **kwargs):
        super().__init__(filepath=filepath, **kwargs)
        self._task = task

    def load(self):
        if not self._exists():
            raise FileNotFoundError(
                f"tune.task={self._task}: no model input at {PurePosixPath(self._filepath)}; "
                f"build it first with `kedro run --pipeline {self._task}`"
            )
        return super().load()

    def _describe(self) -> dict:
        return {**super()._describe(), "task": self._task}
