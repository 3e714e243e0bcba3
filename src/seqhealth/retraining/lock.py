"""One retrain per task at a time, across processes (cron) and machines (Airflow workers).

* Embedded default (SQLite tracking in the project): a ``filelock`` on
  ``data/.locks/retrain-<task>.lock``. It is an OS lock (flock), so a killed run releases it.
* Tracking on a server (``MLFLOW_TRACKING_URI`` http(s):// or postgresql://): a PostgreSQL
  session advisory lock, ``pg_try_advisory_lock(key)`` with a 64-bit key derived from the task,
  on ``retrain.lock_url`` (default: the tracking URI itself when it is a PostgreSQL URL). Runs on
  different machines share no file system, so a file lock would not exclude them; the advisory
  lock is released by PostgreSQL when the holding connection ends, even if the run dies.

A held lock raises ``RetrainLockBusy``, a ``SystemExit`` with code 75 (``EX_TEMPFAIL`` from
sysexits.h: "try again later"), so ``kedro run`` exits 75 and cron / Airflow see a distinct code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from pathlib import Path

import filelock

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75
SERVER_SCHEMES = ("http://", "https://", "postgresql://", "postgresql+psycopg2://", "postgres://")


class RetrainLockBusy(SystemExit):
    """Another retrain of the task holds the lock (exit status 75)."""

    def __init__(self, message: str):
        super().__init__(EX_TEMPFAIL)
        self.message = message

    def __str__(self) -> str:
        return self.message


def advisory_key(task: str) -> int:
    """Signed 64-bit key (PostgreSQL bigint) for ``task``, stable across machines and versions."""
    return int.from_bytes(hashlib.sha256(f"seqhealth.retrain:{task}".encode()).digest()[:8], "big", signed=True)


def _holder() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


class FileRetrainLock:
    """``kind`` names the lock file and the message: ``retrain`` here, ``train`` for training
    runs (``seqhealth.training_lock``), which share one project folder's outputs."""

    def __init__(self, task: str, lock_dir: Path, kind: str = "retrain", label: str | None = None):
        self.task = task
        self.kind = kind
        self.label = label or kind
        self.path = Path(lock_dir) / f"{kind}-{task}.lock"
        self._owner_file = self.path.with_suffix(".owner.json")
        self._lock = filelock.FileLock(str(self.path), timeout=0, thread_local=False)

    def describe(self) -> str:
        return f"file lock {self.path}"

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            try:
                holder = json.loads(self._owner_file.read_text())
            except (OSError, ValueError):
                holder = {}
            raise RetrainLockBusy(
                f"another {self.label} of {self.task} is running ({self.describe()}, held by {holder or 'unknown'}); "
                f"exiting with {EX_TEMPFAIL} (EX_TEMPFAIL): nothing was trained, try again later"
            ) from None
        self._owner_file.write_text(json.dumps(_holder()))

    def release(self) -> None:
        if self._lock.is_locked:
            self._owner_file.unlink(missing_ok=True)
            self._lock.release()


class PostgresRetrainLock:
    def __init__(self, task: str, url: str):
        self.task = task
        self.url = url
        self.key = advisory_key(task)
        self._connection = None

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key} on {_redact(self.url)}"

    def acquire(self) -> None:
        import sqlalchemy  # only needed with a server store

        engine = sqlalchemy.create_engine(self.url.replace("postgres://", "postgresql://", 1), poolclass=sqlalchemy.pool.NullPool)
        connection = engine.connect()
        got = connection.execute(sqlalchemy.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
        connection.commit()
        if not got:
            connection.close()
            raise RetrainLockBusy(
                f"another retrain of {self.task} is running ({self.describe()}); "
                f"exiting with {EX_TEMPFAIL} (EX_TEMPFAIL): nothing was trained, try again later"
            )
        self._connection = connection  # the session holds the lock until it ends

    def release(self) -> None:
        if self._connection is None:
            return
        import sqlalchemy

        try:
            self._connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._connection.commit()
        finally:
            self._connection.close()
            self._connection = None


def _redact(url: str) -> str:
    """The URL without its password, for log messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, host = rest.rsplit("@", 1)
        rest = f"{credentials.split(':')[0]}:***@{host}"
    return f"{scheme}{sep}{rest}"


def make_lock(task: str, project_path: Path, lock_url: str | None = None, tracking_uri: str | None = None):
    """The lock for this deployment (see the module docstring for the rule)."""
    tracking_uri = tracking_uri if tracking_uri is not None else os.environ.get("MLFLOW_TRACKING_URI", "")
    if lock_url:
        return PostgresRetrainLock(task, lock_url)
    if tracking_uri.startswith(SERVER_SCHEMES[2:]):
        return PostgresRetrainLock(task, tracking_uri)
    if tracking_uri.startswith(SERVER_SCHEMES[:2]):
        raise ValueError(
            f"MLFLOW_TRACKING_URI is a server ({_redact(tracking_uri)}): retrains may run on several machines, so a "
            "file lock cannot exclude them. Set retrain.lock_url to the PostgreSQL database used for the advisory "
            'lock (kedro run --pipeline retrain --params "retrain.lock_url=postgresql://...")'
        )
    return FileRetrainLock(task, Path(project_path) / "data" / ".locks")
