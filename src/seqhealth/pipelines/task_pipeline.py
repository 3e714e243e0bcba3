"""The shape every task pipeline shares: ingest -> model input -> train -> evaluate.

Each task is a namespaced modular pipeline (namespace = task name), so its datasets are
``<task>.<name>``, its parameters ``params:<task>.<name>`` and Kedro-Viz shows it collapsed.
Only the shared ``train`` parameter group is mapped in from outside the namespace.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from seqhealth.pipelines.training_nodes import train_sequence_model
from seqhealth.tracking.registry import register_trained_model


def training_nodes(evaluate_func) -> list[Node]:
    """Train + evaluate + register nodes; inputs ``model_input`` and ``params:model`` come from the task."""
    return [
        Node(
            train_sequence_model,
            inputs=["model_input", "params:model", "params:shared_train", "params:train"],
            outputs=["model", "training_history"],
            name="train_model",
            tags=["training"],
        ),
        Node(
            evaluate_func,
            inputs=["model", "model_input", "training_history"],
            outputs=["metrics", "test_predictions", "plots"],
            name="evaluate_on_test_split",
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


def task_pipeline(task: str, ingestion_and_features: list[Node], evaluate_func) -> Pipeline:
    """Namespace a task's nodes; raw inputs stay ``<task>.raw_*`` through the namespace prefix."""
    return Pipeline(
        [*ingestion_and_features, *training_nodes(evaluate_func)],
        namespace=task,
        parameters={"params:shared_train": "params:train"},
        # Domain tag (`dna` / `vitals`) next to the task: Kedro-Viz filters on both.
        tags=[task, task.split("_", 1)[0]],
    )
