"""A task's pipeline run in-process with Kedro's runner on its demo data (as the Kedro starters
test their pipelines): ``run_task_slice(name, tmp_path, tags)``. The MLflow registration node is left out (its own tests run
it against a real store); the catalog is in memory, with the task's own parameters (conf/base)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from seqhealth.pipelines.task_pipeline import task_pipeline
from seqhealth.tasks.registry import get_task
from tests.retraining.helpers import project_parameters

TINY = {"hidden_size": 8, "num_layers": 1, "dropout": 0.0, "head_dropout": 0.0}


class KeptDataset(MemoryDataset):
    """In memory, and kept after the runner is done with it, so the test can read every output."""

    def _release(self) -> None:
        pass


def _catalog(task, raw: dict, tmp_path, model: dict | None = None, max_epochs: int = 2) -> DataCatalog:
    params = project_parameters()
    task_params = params[task.name]
    train = {**params["train"], "max_epochs": max_epochs, "enable_progress_bar": False, "checkpoint_dir": str(tmp_path / "ckpt"),
             "early_stopping_patience": 0}  # fmt: skip
    task_train = {k: v for k, v in (task_params.get("train") or {}).items() if k not in ("max_epochs", "early_stopping_patience")}
    feeds = {f"{task.name}.{name}": value for name, value in raw.items()}
    feeds |= {
        "params:train": train,
        f"params:{task.name}": task_params,
        f"params:{task.name}.{task.params_key}": task_params[task.params_key],
        f"params:{task.name}.model": {**task_params["model"], **(TINY if model is None else model)},
        f"params:{task.name}.train": task_train,
    }
    outputs = {f"{task.name}.{name}": KeptDataset() for name in
               (*task.ingest_outputs, "model_input", "model", "metrics", "test_predictions", "plots")}  # fmt: skip
    return DataCatalog({**outputs, **{name: MemoryDataset(value) for name, value in feeds.items()}})


def run_task_slice(name: str, tmp_path, tags=("ingestion", "features", "training", "evaluation"),
                   model: dict | None = None, max_epochs: int = 2):  # fmt: skip
    """Run the slice of ``name``'s pipeline on its demo data; returns ``load(dataset)``.
    ``model``: overrides of the task's model parameters (default: a tiny one)."""
    task = get_task(name)
    task.write_demo(tmp_path / "raw", seed=3)
    catalog = _catalog(task, task.read_raw(tmp_path / "raw"), tmp_path, model, max_epochs)
    SequentialRunner().run(task_pipeline(task).filter(tags=list(tags)), catalog)
    return lambda dataset: catalog.load(f"{name}.{dataset}")


def assert_evaluated(name: str, load) -> None:
    """What the train -> calibrate -> evaluate slice must leave: finite headline metrics."""
    task = get_task(name)
    metrics, predictions, bundle = load("metrics"), load("test_predictions"), load("model")
    assert metrics["task"] == name and bundle["task"] == name
    assert set(task.headline_metrics) <= set(metrics["test"])
    assert all(np.isfinite(metrics["test"][m]) for m in task.headline_metrics), metrics["test"]
    assert len(predictions) > 0 and metrics["n_test"] > 0
    assert bundle["training"]["epochs_run"] >= 1
    for figure in load("plots").values():
        plt.close(figure)
