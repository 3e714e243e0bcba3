"""Project pipelines, from the task registry: one pipeline per task (``tasks/<name>.py``), one
per domain (``dna``, ``vitals``: all tasks of that domain), ``__default__`` (every task, on the
demo data), and the task-generic ``predict``, ``tune``, ``retrain`` and ``explain`` pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from seqhealth.pipelines import explain, predict, retrain, tune
from seqhealth.pipelines.task_pipeline import task_pipeline
from seqhealth.tasks.registry import TASKS


def register_pipelines() -> dict[str, Pipeline]:
    pipelines: dict[str, Pipeline] = {name: task_pipeline(task) for name, task in TASKS.items()}
    for domain in sorted({task.domain for task in TASKS.values()}):
        pipelines[domain] = sum((pipelines[n] for n, t in TASKS.items() if t.domain == domain), Pipeline([]))
    # The default run trains every task on the demo data; predict / tune / retrain / explain are run on
    # purpose, with their own parameters.
    pipelines["__default__"] = sum((pipelines[n] for n in TASKS), Pipeline([]))
    pipelines.update(predict=predict.create_pipeline(), tune=tune.create_pipeline(), retrain=retrain.create_pipeline(),
                     explain=explain.create_pipeline())
    return pipelines
