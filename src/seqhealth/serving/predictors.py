"""Predict from RAW tables with a model bundle (no MLflow here; the pyfunc wraps this).

What a request looks like and what comes back is the task's own business
(``Task.predict_request``; its ``response_columns`` name the output table).
"""

from __future__ import annotations

import pandas as pd

from seqhealth.engine.fit import load_model
from seqhealth.models.module import SequenceModel
from seqhealth.tasks.registry import task_of_bundle


class RawPredictor:
    """A bundle turned into a model once, then ``predict(frame)`` any number of times."""

    def __init__(self, bundle: dict, limits: dict | None = None):
        self.bundle = bundle
        self.task = task_of_bundle(bundle)
        self.limits = limits or {}
        self.model: SequenceModel = load_model(bundle)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.task.predict_request(self.model, self.bundle, frame, self.limits)
