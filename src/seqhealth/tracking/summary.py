"""What a tracking store holds, as one table (used by end-to-end checks and the README)."""

from __future__ import annotations

import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from seqhealth.tasks.registry import TASK_NAMES
from seqhealth.tracking.registry import CHAMPION, model_name

COLUMNS = [
    "task", "run_id", "parent_run_id", "status", "n_metrics", "n_epoch_steps", "test_metrics",
    "n_plots", "plots", "has_model", "registered_versions", "champion_version", "champion_run_id",
    "git_commit", "data_fingerprint",
]  # fmt: skip


def _artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    paths = []
    for entry in client.list_artifacts(run_id, path):
        paths.extend(_artifact_paths(client, run_id, entry.path) if entry.is_dir else [entry.path])
    return paths


def runs_summary(tracking_uri: str, experiment: str = "seqhealth") -> pd.DataFrame:
    """One row per task run (runs tagged ``seqhealth.task``), newest first, with registry info.

    ``test_metrics`` lists the ``test.*`` metric names; ``n_epoch_steps`` is the number of
    epochs with a ``val_loss``; ``plots`` the ``plots/*.png`` artifacts; ``champion_*`` comes from
    the registry alias of ``seqhealth-<task>``; ``has_model`` is true when the run's id is the
    source of a registered version.
    """
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame(columns=COLUMNS)
    runs = client.search_runs(
        [found.experiment_id], filter_string="tags.`seqhealth.task` != ''", order_by=["attributes.start_time DESC"]
    )
    versions: dict[str, list] = {}
    champions: dict[str, object] = {}
    for task in TASK_NAMES:
        try:
            versions[task] = client.search_model_versions(f"name = '{model_name(task)}'")
            champions[task] = client.get_model_version_by_alias(model_name(task), CHAMPION)
        except MlflowException:
            versions.setdefault(task, [])
            champions[task] = None
    rows = []
    for run in runs:
        task = run.data.tags.get("seqhealth.task")
        run_id = run.info.run_id
        plots = sorted(p for p in _artifact_paths(client, run_id, "plots") if p.endswith(".png"))
        history = client.get_metric_history(run_id, "val_loss")
        champion = champions.get(task)
        rows.append(
            {
                "task": task,
                "run_id": run_id,
                "parent_run_id": run.data.tags.get("mlflow.parentRunId"),
                "status": run.info.status,
                "n_metrics": len(run.data.metrics),
                "n_epoch_steps": len({m.step for m in history}),
                "test_metrics": sorted(k for k in run.data.metrics if k.startswith("test.")),
                "n_plots": len(plots),
                "plots": plots,
                "has_model": any(v.run_id == run_id for v in versions.get(task, [])),
                "registered_versions": len(versions.get(task, [])),
                "champion_version": int(champion.version) if champion else None,
                "champion_run_id": champion.run_id if champion else None,
                "git_commit": run.data.tags.get("seqhealth.git_commit"),
                "data_fingerprint": run.data.tags.get("seqhealth.data_fingerprint"),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
