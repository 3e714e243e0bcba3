"""Tasks: one module per task (``<name>.py`` defining ``TASK``), collected by ``registry``.

Above the engine (training machinery) and the domain packages (genomics, vitals); below the
Kedro pipelines, which are built from the registry. ``base.Task`` is the contract.
"""

from seqhealth.tasks.registry import TASK_NAMES, TASKS, get_task, task_of_bundle

__all__ = ["TASKS", "TASK_NAMES", "get_task", "task_of_bundle"]
