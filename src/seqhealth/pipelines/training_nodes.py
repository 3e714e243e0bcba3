"""Nodes shared by the four task pipelines (training is the same code for every task)."""

from __future__ import annotations

from seqhealth.engine.fit import resolve_train_config, train_model
from seqhealth.tasks.registry import get_task


def train_sequence_model(model_input: dict, model_params: dict, shared_train: dict, task_train: dict | None):
    """Train with the shared ``train`` group overridden by the task's ``<task>.train`` keys.

    One device trains in this process; ``train.devices > 1`` starts torchrun ranks and waits.
    """
    train_cfg = resolve_train_config(shared_train, task_train)
    # The task's gate minimums under any `<task>.train.gate` overrides (checked by train_model).
    train_cfg["gate"] = get_task(model_input["task"]).training_gate(train_cfg.get("gate"))
    return train_model(model_input, model_params, train_cfg)
