"""Project pipelines.

``kedro run --pipeline X`` makes Kedro import only ``seqhealth.pipelines.X``, so every
registered name (tasks, the ``dna`` / ``vitals`` sums, predict, tune, retrain) has a folder.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from seqhealth.tasks import TASK_NAMES


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    if all(task in pipelines for task in TASK_NAMES):
        # The default run trains every task on the demo data; predict / tune / retrain are
        # run on purpose, with their own parameters.
        pipelines["__default__"] = sum((pipelines[task] for task in TASK_NAMES), Pipeline([]))
    return pipelines
