"""The task registry: every module of ``seqhealth.tasks`` that defines ``TASK`` (a ``Task``).

Adding a task is adding its module (found here, as Kedro's ``find_pipelines`` finds pipelines),
its ``parameters_<name>.yml`` and its raw-input catalog entry; the default pipeline, tune,
retrain, predict, serving, demo data and the Airflow task list all iterate over ``TASKS``.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from seqhealth.tasks.base import Task


def _discover() -> dict[str, Task]:
    found: dict[str, Task] = {}
    for module_info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        module = importlib.import_module(f"{__package__}.{module_info.name}")
        task = getattr(module, "TASK", None)
        # A task is registered by the module that defines its class, not by one that imports it.
        if isinstance(task, Task) and type(task).__module__ == module.__name__:
            if task.name in found:
                raise RuntimeError(f"two task modules define the task {task.name!r}")
            found[task.name] = task
    return found


TASKS: dict[str, Task] = _discover()
TASK_NAMES: tuple[str, ...] = tuple(TASKS)


def get_task(name: str | None) -> Task:
    """The task called ``name``; an unknown or missing name gets an error listing the valid ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}: expected one of {sorted(TASKS)}")
    return TASKS[name]


def task_of_bundle(bundle: dict) -> Task:
    """The task a trained bundle predicts (every bundle records it: ``engine.fit``)."""
    name = bundle.get("task")
    if name not in TASKS:
        raise ValueError(f"this model bundle names no known task ({name!r}); expected one of {sorted(TASKS)}")
    return TASKS[name]
