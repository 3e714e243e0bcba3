"""Predict from RAW tables with a model bundle (no MLflow here; the pyfunc wraps this).

What a request looks like and what comes back is the task's own business
(``Task.predict_request``; its ``response_columns`` name the output table).
"""

from __future__ import annotations

import pandas as pd

from seqhealth.engine.explain import ExplanationError
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
        return listed_unscored(self.task, frame, self.task.predict_request(self.model, self.bundle, frame, self.limits))

    def explain(self, frame: pd.DataFrame, table: str | None = None, ids=None) -> pd.DataFrame:
        """One table of ``Task.explain`` (default its first: one row per record / patient) for a
        raw request, under the same request limits as predictions (plus ``EXPLAIN_LIMITS``); no
        plots are drawn."""
        tables, _ = self.task.explain(self.model, self.bundle, frame, {"limits": self.limits, "ids": ids, "max_plots": 0})
        name = table or next(iter(tables))
        if name not in tables:
            raise ExplanationError(f"no explanation table {name!r}; {self.task.name} gives {sorted(tables)}")
        return tables[name]


def listed_unscored(task, frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Every unit of the request (``task.request_key``: patient, sequence, record) comes back:
    one the model produced nothing for (e.g. a patient charted only after the model's time
    window) gets a row with null scores and a ``reason`` (issue 15: a ward dashboard must not
    simply lose a patient). The ``reason`` column is there exactly when such a row is, so the
    response of a fully scored request keeps the model's documented columns."""
    key = task.request_key
    if key not in frame.columns or key not in predictions.columns:
        return predictions
    requested = pd.unique(task.request_ids(frame))
    missing = [unit for unit in requested if unit not in set(predictions[key].astype(str))]
    if not missing:
        return predictions
    unscored = pd.DataFrame({key: missing, "reason": f"not scored: {task.unscored_reason}"})
    return pd.concat([predictions.assign(reason=None), unscored], ignore_index=True)
