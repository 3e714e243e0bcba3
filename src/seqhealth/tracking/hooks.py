"""One MLflow run per task, nested under the single run kedro-mlflow opens per ``kedro run``.

The default run trains four tasks in one session; kedro-mlflow would put everything (metrics of
four models, four plot sets) into one run. ``TaskRunHooks`` makes a child run per task the
ACTIVE run while that task's nodes run and save their outputs, so every fluent MLflow call and
every kedro-mlflow catalog dataset lands in the task's own run.

Ordering with kedro-mlflow's hook (pluggy calls later-registered plugins first, and kedro-mlflow
is registered after the project's ``HOOKS``; the markers below make it explicit):

* ``before_node_run`` (trylast): kedro-mlflow has re-activated its parent run and logged the
  node's ``params:`` into it; then the task's child run is pushed on top.
* after the node's LAST output is saved (``after_dataset_saved``; saves come after
  ``after_node_run`` in Kedro 1.x) the child is popped again, so between nodes the parent is active.
* ``after_pipeline_run`` / ``on_pipeline_error`` (tryfirst): children are ended (FINISHED, or
  FAILED for a task that did not complete) before kedro-mlflow ends its parent run.

Each child records: ``<task>.*`` and ``train.*`` params, per-epoch metrics, test metrics,
plots and metrics.json, the data fingerprint, git commit, package versions and the pipeline names.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import mlflow
from kedro.framework.hooks import hook_impl
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from seqhealth.tasks.registry import TASK_NAMES
from seqhealth.tracking.orphans import mark_orphans, owner_tags
from seqhealth.tracking.redaction import redact
from seqhealth.tracking.run_logging import (
    environment_tags,
    log_figures,
    log_fingerprint,
    log_history,
    log_params,
    set_tags,
)

logger = logging.getLogger(__name__)

FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)


def task_of_node(node) -> str | None:
    namespace = getattr(node, "namespace", None) or ""
    top = namespace.split(".")[0]
    return top if top in TASK_NAMES else None


def _is_secondary_rank() -> bool:
    # Lightning's DDP launcher re-runs the command in ranks > 0; only rank 0 records.
    return any(int(os.environ.get(name, "0") or 0) != 0 for name in ("RANK", "LOCAL_RANK", "NODE_RANK"))


class TaskRunHooks:
    def __init__(self) -> None:
        self._reset()
        self._project_path: Path | None = None

    def _reset(self) -> None:
        self.children: dict[str, str] = {}  # task -> child run id
        self._parent_id: str | None = None
        self._on_top: str | None = None  # child run id pushed for the running node
        self._params: dict = {}
        self._pipeline_names = ""
        self._remaining: dict[str, int] = {}
        self._failed: set[str] = set()

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._reset()
        names = run_params.get("pipeline_names") or run_params.get("pipeline_name") or ["__default__"]
        self._pipeline_names = "+".join([names] if isinstance(names, str) else names)
        try:
            self._params = catalog.load("parameters")
        except Exception:  # noqa: BLE001 - a catalog without parameters: nothing to log
            self._params = {}
        for node in pipeline.nodes:
            task = task_of_node(node)
            if task:
                self._remaining[task] = self._remaining.get(task, 0) + 1
        self._claim_parent_and_close_orphans()

    def _claim_parent_and_close_orphans(self) -> None:
        """Owner tags on kedro-mlflow's run (opened just before: its hook is called first), then
        the experiment's runs left RUNNING by killed processes are marked KILLED (orphans.py)."""
        parent = mlflow.active_run()
        if parent is None or _is_secondary_rank():
            return
        set_tags(parent.info.run_id, owner_tags())
        try:
            mark_orphans([parent.info.experiment_id])
        except Exception as error:  # noqa: BLE001 - housekeeping must never stop a run
            logger.warning("could not check for orphaned MLflow runs: %s", error)

    # ------------------------------------------------------------------ per node
    @hook_impl(trylast=True)
    def before_node_run(self, node, catalog, inputs, is_async) -> None:
        task = task_of_node(node)
        parent = mlflow.active_run()
        if task is None or parent is None or _is_secondary_rank():
            return
        if task in self.children:
            mlflow.start_run(run_id=self.children[task], nested=True)
        else:
            self._parent_id = self._parent_id or parent.info.run_id
            child = mlflow.start_run(
                run_name=task, nested=True, experiment_id=parent.info.experiment_id, tags=self._task_tags(task)
            )
            self.children[task] = child.info.run_id
            # Redacted: a raw input chosen with --params "<task>.path=..." names patients (redaction.py).
            log_params(child.info.run_id, redact({task: self._params.get(task, {}), "train": self._params.get("train", {})}))
        self._on_top = self.children[task]

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node) -> None:
        task = task_of_node(node)
        if task is None or self._on_top is None or self._on_top != self.children.get(task):
            return
        self._record(task, dataset_name, data)
        if dataset_name == node.outputs[-1]:
            self._pop(FINISHED)

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async) -> None:
        task = task_of_node(node)
        if task is None:
            return
        self._remaining[task] = self._remaining.get(task, 1) - 1
        if not node.outputs:
            self._pop(FINISHED)

    @hook_impl
    def on_node_error(self, error, node, catalog, inputs, is_async) -> None:
        task = task_of_node(node)
        if task:
            self._failed.add(task)

    # -------------------------------------------------------------- per pipeline
    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._finish(error=False)

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._finish(error=True)

    # ------------------------------------------------------------------ helpers
    def _task_tags(self, task: str) -> dict:
        return {
            "kedro.pipeline": task,
            "kedro.pipeline_names": self._pipeline_names,
            "seqhealth.task": task,
            **owner_tags(),  # a killed run is closed by the next one (orphans.py)
            **environment_tags(self._project_path),
        }

    def _record(self, task: str, dataset_name: str, data) -> None:
        """What a saved task output contributes to the task's run (aggregates only)."""
        run_id = self.children[task]
        name = dataset_name.rsplit(".", 1)[-1]
        client = MlflowClient()
        if name == "training_history":
            log_history(run_id, data, client)
        elif name == "metrics":
            # The numbers are logged by ``log_and_register`` with the model; the document here.
            client.log_text(run_id, json.dumps(data, indent=2, default=str), "metrics.json")
        elif name == "plots":
            log_figures(run_id, data if isinstance(data, dict) else dict(enumerate(data)), client)
        elif name == "report_tables":
            for table, frame in data.items():
                client.log_text(run_id, frame.to_csv(index=False), f"reports/{table}.csv")
        elif name == "model" and isinstance(data, dict) and "data_fingerprint" in data:
            log_fingerprint(run_id, data["data_fingerprint"], client)
            set_tags(run_id, {"seqhealth.data_fingerprint": data["data_fingerprint"].get("sha256", "")}, client)

    def _pop(self, status: str) -> None:
        active = mlflow.active_run()
        if self._on_top and active is not None and active.info.run_id == self._on_top:
            mlflow.end_run(status)
        self._on_top = None

    def _finish(self, error: bool) -> None:
        if self._on_top:
            failed_task = next((t for t, r in self.children.items() if r == self._on_top), None)
            if error and failed_task:
                self._failed.add(failed_task)
            self._pop(FAILED if error else FINISHED)
        if self.children:
            client = MlflowClient()
            for task, run_id in self.children.items():
                incomplete = task in self._failed or self._remaining.get(task, 0) > 0
                client.set_terminated(run_id, FAILED if (error and incomplete) else FINISHED)
        self._reset()
