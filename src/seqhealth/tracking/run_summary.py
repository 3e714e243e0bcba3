"""The end of a ``kedro run``: what each task scored against its baseline, where outputs went, what next.

``RunSummaryHooks.after_pipeline_run`` reads ``data/08_reporting/<task>/metrics.json`` of every
task whose nodes were in the pipeline (task names come from the node namespaces, so a new task
needs nothing here) and writes one plain-text table to stdout and to
``data/08_reporting/run_summary.txt``. Plain stdout, not the log: the rich log handler re-wraps
each message to the width of its message column (80-character consoles off a terminal), which
would break a table's rows.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl

from seqhealth.tracking.hooks import task_of_node

logger = logging.getLogger(__name__)

SUMMARY_FILE = Path("data/08_reporting/run_summary.txt")
_FALLBACK_HEADLINES = 3  # a task without declared headline metrics: its first test numbers


def headline_metrics(task: str, document: dict) -> list[str]:
    """The task's declared headline test metrics (task registry), else its first numeric ones."""
    try:
        from seqhealth.tasks.registry import TASKS

        declared = list(getattr(TASKS.get(task), "headline_metrics", ()) or ())
    except Exception:  # noqa: BLE001 - the summary must never fail a finished run
        declared = []
    numbers = [k for k, v in (document.get("test") or {}).items() if isinstance(v, int | float)]
    chosen = [name for name in declared if name in numbers]
    return chosen or numbers[:_FALLBACK_HEADLINES]


def _number(value) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def baseline_label(document: dict) -> str:
    baseline = document.get("baseline") or {}
    return str(baseline.get("name") or ("baseline" if baseline else "no baseline"))


LOWER_IS_BETTER = ("brier", "ece", "mae", "mae_z", "loss")


def strongest_reference(document: dict, metric: str) -> tuple[str, dict] | None:
    """``(name, figures)`` of the task's best named baseline (``metrics.json`` → ``baselines``:
    what a biologist or a data team tries first, fitted on the same split) on ``metric``."""
    scored = [(name, b) for name, b in (document.get("baselines") or {}).items()
              if isinstance(b, dict) and isinstance(b.get(metric), int | float) and math.isfinite(b[metric])]  # fmt: skip
    if not scored:
        return None
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return max(scored, key=lambda item: sign * item[1][metric])


def metrics_table(documents: dict[str, dict]) -> list[str]:
    """Rows ``task  metric  test  baseline  baseline is  reference  reference is``; one row per
    headline metric of each task. The reference is the strongest named baseline of the task
    (chosen on its first headline metric), so a model is read next to what it has to beat."""
    rows = [("task", "metric", "test", "baseline", "baseline is", "reference", "reference is")]
    for task, document in documents.items():
        if document is None:
            rows.append((task, "(no metrics.json: the task did not finish)", "", "", "", "", ""))
            continue
        metrics = headline_metrics(task, document)
        reference = strongest_reference(document, metrics[0]) if metrics else None
        for i, name in enumerate(metrics):
            rows.append((task if i == 0 else "", name, _number(document["test"].get(name)),
                         _number((document.get("baseline") or {}).get(name)), baseline_label(document) if i == 0 else "",
                         _number(reference[1].get(name)) if reference else "-",
                         (reference[0] if reference else "none") if i == 0 else ""))  # fmt: skip
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def format_summary(project: Path, pipeline_names: str, documents: dict[str, dict], elapsed_s: float,
                   tracking_uri: str | None = None) -> str:
    lines = [f"seqhealth: `kedro run` ({pipeline_names}) finished in {_duration(elapsed_s)}"]
    if documents:
        lines += ["", *metrics_table(documents)]
        lines += ["", "Outputs (per task):",
                  "  metrics, plots, quarantine  data/08_reporting/<task>/",
                  "  trained models              data/06_models/<task>/",
                  "  test-split predictions      data/07_model_output/<task>/"]
    lines += [f"  MLflow runs and registry    {tracking_uri or 'sqlite:///' + str(project / 'mlflow.db')}", ""]
    lines += ["Next:",
              "  make mlflow-ui                     # browse runs, plots and registered models (http://127.0.0.1:5000)",
              "  make predict TASK=<task> DATA=<path>   # score new raw files with the champion",
              "  make serve TASK=<task>             # REST endpoint; example request: see README 'Serving'",
              "  make tune TASK=<task>              # Optuna study, best configuration registered as challenger",
              "  make help                          # every everyday command"]
    return "\n".join(lines) + "\n"


class RunSummaryHooks:
    def __init__(self) -> None:
        self._project: Path = Path.cwd()
        self._started = time.monotonic()
        self._tasks: list[str] = []
        self._names = "__default__"

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        self._started = time.monotonic()
        names = run_params.get("pipeline_names") or run_params.get("pipeline_name") or ["__default__"]
        self._names = ", ".join([names] if isinstance(names, str) else names)
        self._tasks = list(dict.fromkeys(t for t in map(task_of_node, pipeline.nodes) if t))

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params, pipeline, catalog) -> None:
        import mlflow

        documents = {}
        for task in self._tasks:
            path = self._project / "data" / "08_reporting" / task / "metrics.json"
            documents[task] = json.loads(path.read_text()) if path.is_file() else None
        text = format_summary(self._project, self._names, documents, time.monotonic() - self._started,
                              mlflow.get_tracking_uri())
        target = self._project / SUMMARY_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        sys.stdout.write("\n" + text)
        sys.stdout.flush()
