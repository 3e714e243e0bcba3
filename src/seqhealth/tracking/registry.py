"""Model registry: ``seqhealth-<task>`` with aliases (MLflow stages are deprecated).

* every new version gets alias ``challenger``;
* the first version of a task (no ``champion`` yet) also becomes ``champion``;
* afterwards ``champion`` moves only by an explicit ``promote`` (retraining decides).

Serving and batch prediction load ``models:/seqhealth-<task>@champion``.
"""

from __future__ import annotations

import logging

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from seqhealth.engine.gate import require_finite_test_metrics
from seqhealth.serving.pyfunc import log_pyfunc
from seqhealth.tracking.run_logging import log_test_metrics

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


def model_name(task: str) -> str:
    return f"seqhealth-{task}"


def champion_uri(task: str, alias: str = CHAMPION) -> str:
    return f"models:/{model_name(task)}@{alias}"


def _alias_version(client: MlflowClient, name: str, alias: str):
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def log_and_register(
    bundle: dict,
    metrics: dict | None,
    task: str | None = None,
    *,
    client: MlflowClient | None = None,
    limits: dict | None = None,
    make_first_champion: bool = True,
    version_tags: dict | None = None,
) -> dict:
    """Log ``bundle`` as a raw-input pyfunc in the active run and register it.

    Stable API (used by training, tuning and retraining):

    - ``bundle``: the dict from ``engine.fit.fit_sequence_model``;
    - ``metrics``: the task's metrics document (``test``/``baseline`` sub-dicts are logged as
      ``test.*``/``baseline.*`` run metrics; ``None`` logs none);
    - ``task``: defaults to ``bundle["task"]``; the registered model is ``seqhealth-<task>``;
    - ``limits``: request limits of the served model (``raw_inputs.DEFAULT_LIMITS``);
    - ``make_first_champion``: the first version of a task becomes ``champion`` as well.

    Without an active run one is started (named after the task) and ended here.
    Returns ``{"task", "run_id", "model_uri", "registered_model", "version", "aliases"}``
    (JSON-serialisable; ``model_uri`` is ``models:/seqhealth-<task>/<version>``).
    """
    task = task or bundle["task"]
    # Last line of defence (whatever the caller checked): no version, and so no alias, for a
    # model without finite headline test metrics. Raised before any run or artifact is touched.
    require_finite_test_metrics(metrics, _headline(task), task)
    client = client or MlflowClient()
    name = model_name(task)
    started_here = mlflow.active_run() is None
    run = mlflow.active_run() or mlflow.start_run(run_name=task, tags={"seqhealth.task": task})
    try:
        if metrics:
            log_test_metrics(run.info.run_id, metrics, client)
        info = log_pyfunc(bundle, limits=limits, registered_model_name=name)
    finally:
        if started_here:
            mlflow.end_run()
    version = str(info.registered_model_version)
    tags = {"task": task, "data_fingerprint": str(bundle.get("data_fingerprint", {}).get("sha256", ""))}
    for key, value in {**tags, **(version_tags or {})}.items():
        client.set_model_version_tag(name, version, key, str(value))
    client.set_registered_model_alias(name, CHALLENGER, version)
    aliases = [CHALLENGER]
    if make_first_champion and _alias_version(client, name, CHAMPION) is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        aliases.append(CHAMPION)
    logger.info("registered %s version %s (%s)", name, version, ", ".join(aliases))
    return {
        "task": task,
        "run_id": run.info.run_id,
        "model_uri": f"models:/{name}/{version}",
        "registered_model": name,
        "version": int(version),
        "aliases": aliases,
    }


def _headline(task: str) -> tuple[str, ...]:
    from seqhealth.tasks.registry import get_task  # the task layer imports serving, which is below

    try:
        return tuple(get_task(task).headline_metrics)
    except (KeyError, ValueError):  # a task this checkout does not know: every test metric counts
        return ()


def promote(task: str, version: int | str, client: MlflowClient | None = None) -> dict:
    """Move ``champion`` to ``version`` (explicit promotion); returns the previous and new version."""
    client = client or MlflowClient()
    name = model_name(task)
    client.get_model_version(name, str(version))  # raises a clear MlflowException if absent
    previous = _alias_version(client, name, CHAMPION)
    client.set_registered_model_alias(name, CHAMPION, str(version))
    return {"task": task, "previous": int(previous.version) if previous else None, "champion": int(version)}


def champion_metrics(task: str, client: MlflowClient | None = None, alias: str = CHAMPION) -> dict | None:
    """``{"version", "run_id", "test": {...}, "baseline": {...}}`` of the champion, or None."""
    client = client or MlflowClient()
    current = _alias_version(client, model_name(task), alias)
    if current is None:
        return None
    logged = client.get_run(current.run_id).data.metrics
    grouped: dict = {"version": int(current.version), "run_id": current.run_id, "test": {}, "baseline": {}}
    for key, value in logged.items():
        prefix, _, rest = key.partition(".")
        if prefix in ("test", "baseline") and rest:
            grouped[prefix][rest] = value
    return grouped


def register_trained_model(model: dict, metrics: dict) -> dict:
    """Pipeline node: log + register a task's freshly trained model (see ``log_and_register``).

    Under ``kedro run`` kedro-mlflow has set the tracking URI and opened a run. A pipeline run
    by hand with a bare runner has neither: then nothing is logged and the returned document
    says so (with a warning) instead of writing a stray store into the working directory.
    """
    if mlflow.active_run() is None and not mlflow.is_tracking_uri_set():
        reason = "no MLflow run and no tracking URI (pipeline run outside a Kedro session)"
        logger.warning("%s: model not registered: %s", model["task"], reason)
        return {"task": model["task"], "registered": False, "reason": reason}
    return {**log_and_register(model, metrics, model["task"]), "registered": True}
