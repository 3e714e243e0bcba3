"""The task's further batch-prediction files (``Task.predict_outputs``), e.g. GFF3 gene calls."""

from __future__ import annotations

import pandas as pd

from seqhealth.pipelines.predict.nodes import score_with_champion
from seqhealth.tasks.registry import get_task


def task_predict_outputs(request: pd.DataFrame, predictions: pd.DataFrame, params: dict) -> dict:
    """``{file name: text | table}`` written next to the predictions; ``{}`` for most tasks."""
    task = get_task(params["task"])
    return task.predict_outputs(
        lambda frame: score_with_champion(frame, params), request, predictions
    )
