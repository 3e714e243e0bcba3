"""Runs whose process died (SIGKILL, OOM killer, a lost node) are closed by the next run.

A killed ``kedro run`` never reaches ``after_pipeline_run``, so its runs stay ``RUNNING`` in
MLflow forever (issue 15). Every run this project opens records who owns it (``OWNER_TAGS``:
pid, host and the process's start time, so a recycled pid is not mistaken for the owner).
At the start of the next run, the ``RUNNING`` runs of the experiment owned by a process of THIS
host that no longer exists are marked ``KILLED`` with the reason in ``seqhealth.orphan_reason``.
Runs of other hosts are left alone: their liveness cannot be checked from here (the Optuna
heartbeat covers trials; a tracking server's runs of other machines need that machine's next run).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import RunStatus

logger = logging.getLogger(__name__)

PID_TAG, HOST_TAG, START_TAG = "seqhealth.pid", "seqhealth.host", "seqhealth.pid_start"
KILLED = RunStatus.to_string(RunStatus.KILLED)


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux ``/proc``), "" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: fields count from its ")".
    return stat.rsplit(")", 1)[1].split()[19]


def owner_tags(pid: int | None = None) -> dict[str, str]:
    pid = os.getpid() if pid is None else pid
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), START_TAG: process_start(pid)}


def is_alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    now_start = process_start(pid)
    return not (start and now_start and now_start != start)  # same pid, other process: owner gone


def mark_orphans(experiment_ids: list[str], client: MlflowClient | None = None) -> list[str]:
    """Mark this host's ``RUNNING`` runs whose owner process is gone ``KILLED``; their ids."""
    client = client or MlflowClient()
    host = socket.gethostname()
    query = f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'"
    marked = []
    for run in client.search_runs(experiment_ids, filter_string=query, max_results=1000):
        tags = run.data.tags
        try:
            pid = int(tags.get(PID_TAG, ""))
        except ValueError:
            continue
        if pid == os.getpid() or is_alive(pid, tags.get(START_TAG, "")):
            continue
        reason = f"owner process {pid} on {host} no longer exists (killed?); marked by pid {os.getpid()} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}"  # noqa: E501
        client.set_tag(run.info.run_id, "seqhealth.orphan_reason", reason)
        client.set_terminated(run.info.run_id, KILLED)
        marked.append(run.info.run_id)
    if marked:
        logger.warning("marked %d orphaned MLflow run(s) KILLED (their process is gone): %s", len(marked), ", ".join(marked))
    return marked
