"""Holds the retrain lock for the whole ``kedro run --pipeline retrain`` (see ``lock.py``).

``before_pipeline_run`` is ``tryfirst`` so the lock is taken before kedro-mlflow opens its run:
a run that finds the lock busy leaves nothing behind in MLflow. ``RetrainLockBusy`` is a
``SystemExit(75)``: Kedro's session re-raises it untouched and ``KedroCLI.main`` passes a
``SystemExit``'s code on to ``sys.exit``, so the process exits 75. The lock is released after
the run, failed or not (and by the OS / PostgreSQL if the process dies).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from kedro.framework.hooks import hook_impl

from seqhealth.retraining.lock import RetrainLockBusy, make_lock

logger = logging.getLogger(__name__)
RETRAIN_PIPELINE = "retrain"


def _is_retrain(run_params: dict) -> bool:
    names = run_params.get("pipeline_names") or [run_params.get("pipeline_name")]
    return RETRAIN_PIPELINE in ([names] if isinstance(names, str) else list(names))


class RetrainLockHooks:
    def __init__(self) -> None:
        self._project_path = Path.cwd()
        self._lock = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        if not _is_retrain(run_params):
            return
        retrain = catalog.load("params:retrain")
        lock = make_lock(retrain.get("task") or "unset", self._project_path, retrain.get("lock_url"))
        try:
            lock.acquire()
        except RetrainLockBusy as busy:
            logger.error("%s", busy.message)
            sys.stderr.write(busy.message + "\n")  # also visible when logging is configured away
            raise
        logger.info("retrain lock acquired: %s", lock.describe())
        self._lock = lock

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            logger.info("retrain lock released: %s", self._lock.describe())
            self._lock = None

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._release()

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error, run_params, pipeline, catalog) -> None:
        self._release()
