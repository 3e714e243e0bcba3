"""Every task's pipeline, built from its ``Task``: ingest -> model input -> train -> evaluate -> register.

Each task is a namespaced modular pipeline (namespace = task name), so its datasets are
``<task>.<name>``, its parameters ``params:<task>.<name>`` and Kedro-Viz shows it collapsed.
Only the shared ``train`` parameter group is mapped in from outside the namespace.
"""

from __future__ import annotations

import pandas as pd
from kedro.pipeline import Node, Pipeline

from seqhealth.engine.gate import check_ingested
from seqhealth.pipelines.training_nodes import train_sequence_model
from seqhealth.tasks.base import Task
from seqhealth.tracking.registry import register_trained_model


def _ingest_function(task: Task):
    """``task.ingest`` with the raw inputs as positional node inputs (Kedro passes datasets by position)."""

    def ingest(*raw_and_params):
        *raw, params = raw_and_params
        return task.ingest(dict(zip(task.raw_inputs, raw, strict=True)), params)

    ingest.__name__ = ingest.__qualname__ = f"ingest_{task.name}"
    ingest.__doc__ = type(task).ingest.__doc__ or task.summary
    return ingest


def _build_function(task: Task):
    def build_model_input(*inputs_and_section):
        # Every record quarantined: stop here with a clear message; the ingest node has already
        # saved quarantine.csv / ingest_report.json, which say why.
        *inputs, _section = inputs_and_section
        check_ingested(task.name, dict(zip(task.builder_inputs, inputs, strict=True)), task.builder_inputs)
        return task.build_model_input(*inputs_and_section)

    build_model_input.__name__ = build_model_input.__qualname__ = f"build_{task.name}_model_input"
    build_model_input.__doc__ = type(task).build_model_input.__doc__
    return build_model_input


def _calibrate_function(task: Task):
    def calibrate(bundle: dict, model_input: dict) -> dict:
        return task.calibrate(bundle, model_input)

    calibrate.__name__ = calibrate.__qualname__ = f"calibrate_{task.name}"
    calibrate.__doc__ = type(task).calibrate.__doc__
    return calibrate


def _evaluate_function(task: Task):
    def evaluate(bundle: dict, model_input: dict, history: list[dict]):
        return task.evaluate(bundle, model_input, history)

    evaluate.__name__ = evaluate.__qualname__ = f"evaluate_{task.name}"
    evaluate.__doc__ = type(task).evaluate.__doc__
    return evaluate


def report_tables(metrics: dict) -> dict:
    """The tables of ``metrics["reports"]`` (e.g. a task's alert and subgroup reports), one CSV
    each next to ``metrics.json``; none for a task without reports."""
    return {name: pd.DataFrame(rows) for name, rows in (metrics.get("reports") or {}).items()}


def task_pipeline(task: Task) -> Pipeline:
    nodes = [
        Node(
            _ingest_function(task),
            inputs=[*task.raw_inputs, "params:task_parameters"],
            outputs={name: name for name in task.ingest_outputs},
            name=task.ingest_node,
            tags=["ingestion"],
        ),
        Node(
            _build_function(task),
            inputs=[*task.builder_inputs, f"params:{task.params_key}"],
            outputs="model_input",
            name=task.build_node,
            tags=["features"],
        ),
        Node(
            train_sequence_model,
            inputs=["model_input", "params:model", "params:shared_train", "params:train"],
            outputs=["trained_model", "training_history"],
            name="train_model",
            tags=["training"],
        ),
        Node(
            _calibrate_function(task),
            inputs=["trained_model", "model_input"],
            outputs="model",
            name="calibrate_on_validation",
            tags=["training"],
        ),
        Node(
            _evaluate_function(task),
            inputs=["model", "model_input", "training_history"],
            outputs=["metrics", "test_predictions", "plots"],
            name="evaluate_on_test_split",
            tags=["evaluation"],
        ),
        Node(
            report_tables,
            inputs="metrics",
            outputs="report_tables",
            name="write_report_tables",
            tags=["evaluation"],
        ),
        # Logs the raw-input pyfunc into the task's MLflow run and registers it as
        # seqhealth-<task> (alias challenger; the first version is also champion).
        Node(
            register_trained_model,
            inputs=["model", "metrics"],
            outputs="registration",
            name="log_and_register_model",
            tags=["tracking"],
        ),
    ]
    return Pipeline(
        nodes,
        namespace=task.name,
        parameters={"params:shared_train": "params:train", "params:task_parameters": f"params:{task.name}"},
        # Domain tag (`dna` / `vitals`) next to the task: Kedro-Viz filters on both.
        tags=[task.name, task.domain],
    )
