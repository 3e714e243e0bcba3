"""One training run per task and project folder at a time (issue 15).

Two ``kedro run``s of one task in one project write the same files (model input, model,
metrics) and register from them: interleaved, a registered version carried one run's data
fingerprint and the other run's model. Every task whose nodes are in the pipeline
(``tracking.hooks.task_of_node``) is locked for the whole run, with the retrain lock's file
lock (``retraining/lock.py``, kind ``train``: ``data/.locks/train-<task>.lock``; an OS lock, so
a killed run releases it). A busy lock stops the run BEFORE kedro-mlflow opens a run (the
hook is ``tryfirst``), with a message naming the holder, and exit status 75 (EX_TEMPFAIL).

A file lock is the right tool whatever the tracking store: the contended resource is the
project folder's outputs, not the registry.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from kedro.framework.hooks import hook_impl

from seqhealth.retraining.lock import FileRetrainLock, RetrainLockBusy
from seqhealth.tracking.hooks import task_of_node

logger = logging.getLogger(__name__)


class TrainLockHooks:
    def __init__(self) -> None:
        self._project_path = Path.cwd()
        self._locks: list[FileRetrainLock] = []

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        tasks = sorted({task for task in map(task_of_node, pipeline.nodes) if task})
        for task in tasks:  # sorted: two runs over several tasks take them in the same order
            lock = FileRetrainLock(task, self._project_path / "data" / ".locks", kind="train", label="training run")
            try:
                lock.acquire()
            except RetrainLockBusy as busy:
                self._release()  # the tasks locked so far: this run trains nothing
                message = f"{busy.message} (one training run per task and project folder; issue 15)"
                logger.error("%s", message)
                sys.stderr.write(message + "\n")
                raise
            self._locks.append(lock)
        if tasks:
            logger.info("training lock acquired for %s", ", ".join(tasks))

    def _release(self) -> None:
        while self._locks:
            self._locks.pop().release()

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._release()

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release()
