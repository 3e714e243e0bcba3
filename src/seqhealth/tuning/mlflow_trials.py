"""Each Optuna trial as an MLflow run nested under the tuning run.

Uses ``MlflowClient`` with explicit run ids (never the fluent active-run stack), so it works the
same in the Kedro process and in worker processes, and never disturbs kedro-mlflow's own run.
Writes are retried briefly: several workers share one SQLite tracking database by default.
"""

from __future__ import annotations

import logging
import time

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

logger = logging.getLogger(__name__)

STATE_TAG = "optuna.state"  # running | complete | pruned | failed
_RUN_STATUS = {"complete": "FINISHED", "pruned": "FINISHED", "failed": "FAILED"}


def _retry(call, *args, attempts: int = 6, **kwargs):
    """SQLite allows one writer at a time; a concurrent worker's write shows up as 'locked'."""
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except Exception as err:  # MlflowException wraps the SQLAlchemy OperationalError
            if "locked" not in str(err).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.2 * 2**attempt)
    return None  # pragma: no cover


class TrialTracker:
    """Creates, fills and closes the MLflow run of each trial under ``parent_run_id``."""

    def __init__(self, tracking_uri: str, parent_run_id: str, study_name: str):
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.tracking_uri = tracking_uri
        self.parent_run_id = parent_run_id
        self.study_name = study_name
        self.experiment_id = _retry(self.client.get_run, parent_run_id).info.experiment_id

    def start(self, trial_number: int, params: dict) -> str:
        run = _retry(
            self.client.create_run,
            self.experiment_id,
            tags={
                MLFLOW_PARENT_RUN_ID: self.parent_run_id,
                MLFLOW_RUN_NAME: f"trial-{trial_number:04d}",
                "optuna.study_name": self.study_name,
                "optuna.trial_number": str(trial_number),
                STATE_TAG: "running",
            },
        )
        run_id = run.info.run_id
        _retry(self.client.log_batch, run_id, params=[Param(k, str(v)) for k, v in sorted(params.items())])
        return run_id

    def log_epoch(self, run_id: str, metrics: dict[str, float], epoch: int) -> None:
        now = int(time.time() * 1000)
        _retry(self.client.log_batch, run_id,
               metrics=[Metric(k, float(v), now, int(epoch)) for k, v in sorted(metrics.items())])

    def finish(self, run_id: str, state: str, value: float | None = None, error: str | None = None) -> None:
        finish_run(self.client, run_id, state, value, error)


def finish_run(client: MlflowClient, run_id: str, state: str, value: float | None = None,
               error: str | None = None) -> None:
    """Final objective value, ``optuna.state`` tag and MLflow status of a trial's run."""
    if value is not None:
        _retry(client.log_metric, run_id, "objective", float(value))
    _retry(client.set_tag, run_id, STATE_TAG, state)
    if error:
        _retry(client.set_tag, run_id, "optuna.error", error[:4000])
    _retry(client.set_terminated, run_id, _RUN_STATUS[state])


def fail_trial_run(tracking_uri: str, run_id: str, reason: str) -> None:
    """Mark the run of a trial that Optuna recorded as FAIL failed too, whatever the run last said."""
    finish_run(MlflowClient(tracking_uri=tracking_uri), run_id, "failed", error=reason)


def unfailed_trial_runs(tracking_uri: str, parent_run_id: str, study_name: str) -> list[tuple[str, int, str]]:
    """``(run_id, trial_number, optuna.state tag)`` of the study's trial runs not tagged failed."""
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = _retry(client.get_run, parent_run_id).info.experiment_id
    runs = _retry(client.search_runs, [experiment_id],
                  filter_string=f"tags.`optuna.study_name` = '{study_name}' and tags.`{STATE_TAG}` != 'failed'")
    return [(run.info.run_id, int(run.data.tags["optuna.trial_number"]), run.data.tags.get(STATE_TAG, ""))
            for run in runs]


def tracker_or_none(tracking_uri: str | None, parent_run_id: str | None, study_name: str) -> TrialTracker | None:
    """A tracker when there is a tuning run to nest under; otherwise trials are not logged to MLflow."""
    if not tracking_uri or not parent_run_id:
        logger.warning("no MLflow tuning run given: trials of %s are recorded in Optuna only", study_name)
        return None
    return TrialTracker(tracking_uri, parent_run_id, study_name)
