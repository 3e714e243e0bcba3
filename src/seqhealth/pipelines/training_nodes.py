"""Nodes shared by the four task pipelines (training is the same code for every task)."""

from __future__ import annotations

from seqhealth.engine.fit import resolve_train_config, train_model


def train_sequence_model(model_input: dict, model_params: dict, shared_train: dict, task_train: dict | None):
    """Train with the shared ``train`` group overridden by the task's ``<task>.train`` keys.

    One device trains in this process; ``train.devices > 1`` starts torchrun ranks and waits.
    """
    return train_model(model_input, model_params, resolve_train_config(shared_train, task_train))
