"""Nodes of the tune pipeline: run the study, plot it, train and register the best configuration.

The study runs against ``tune.storage``; the MLflow run kedro-mlflow opened for this ``kedro run``
is the tuning run, and every trial is logged as a run nested under it.
"""

from __future__ import annotations

import logging
import warnings

import matplotlib

matplotlib.use("Agg")  # workers and CI have no display

import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import optuna  # noqa: E402
import optuna.visualization.matplotlib as optuna_plots  # noqa: E402

from seqhealth.engine.fit import fit_sequence_model, resolve_train_config  # noqa: E402
from seqhealth.engine.gate import check_training_gate  # noqa: E402
from seqhealth.tasks.registry import get_task  # noqa: E402
from seqhealth.tuning.coordinator import run_study  # noqa: E402
from seqhealth.tuning.space import split_params  # noqa: E402
from seqhealth.tuning.study import make_storage  # noqa: E402

logger = logging.getLogger(__name__)

def tune_hyperparameters(model_input: dict, parameters: dict) -> tuple[dict, dict]:
    """Run (or resume) the task's study to ``tune.n_trials`` finished trials in total."""
    tune = parameters["tune"]
    task = tune["task"]
    # Same gate as training, before any trial: a study on data that cannot support a model
    # would only produce trials to throw away.
    shared = resolve_train_config(parameters["train"], parameters[task].get("train"))
    check_training_gate(model_input, get_task(task).training_gate(shared.get("gate")))
    active = mlflow.active_run()
    summary = run_study(
        model_input,
        tune,
        parameters[task],
        parameters["train"],
        tracking_uri=mlflow.get_tracking_uri() if active else None,
        parent_run_id=active.info.run_id if active else None,
    )
    counts = summary["counts"]
    logger.info("study %s: %d complete, %d pruned, %d failed; best trial %d = %.4f",
                summary["study_name"], counts["complete"], counts["pruned"], counts["fail"],
                summary["best_trial"], summary["best_value"])
    if active:
        mlflow.log_metrics({f"tune.n_{state}": float(n) for state, n in counts.items()})
        mlflow.log_metric("tune.best_value", summary["best_value"])
        mlflow.set_tag("optuna.study_name", summary["study_name"])
    best_params = {
        "task": task,
        "study_name": summary["study_name"],
        "best_trial": summary["best_trial"],
        "monitor_value": summary["best_value"],
        "params": summary["best_params"],
    }
    return summary, best_params


def _figure(plot, study: optuna.Study, title: str):
    """An Optuna matplotlib plot, or a figure saying why it cannot be drawn (e.g. too few trials)."""
    try:
        with warnings.catch_warnings():  # Optuna's matplotlib plots are all flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            axes = plot(study)
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
    except (ValueError, RuntimeError) as err:
        logger.warning("%s: not drawn (%s)", title, err)
        figure, axes = plt.subplots(figsize=(6, 2))
        axes.axis("off")
        axes.text(0.5, 0.5, f"{title}: not available\n{err}", ha="center", va="center", wrap=True)
    figure.set_size_inches(9, 5)
    return figure


def study_plots(study_summary: dict, tune: dict):
    """Optimisation history, parameter importances and parallel coordinates of the whole study."""
    study = optuna.load_study(study_name=study_summary["study_name"], storage=make_storage(str(tune["storage"])))
    return (
        _figure(optuna_plots.plot_optimization_history, study, "optimization history"),
        _figure(optuna_plots.plot_param_importances, study, "parameter importances"),
        _figure(optuna_plots.plot_parallel_coordinate, study, "parallel coordinate"),
    )


def train_best_configuration(model_input: dict, best_params: dict, parameters: dict):
    """The best trial's configuration trained like normal training (full epochs, early stopping)."""
    task = best_params["task"]
    model_overrides, train_overrides = split_params(best_params["params"], causal=bool(model_input.get("causal")))
    model_params = {**parameters[task]["model"], **model_overrides}
    train_cfg = {**resolve_train_config(parameters["train"], parameters[task].get("train")), **train_overrides}
    train_cfg["gate"] = get_task(task).training_gate(train_cfg.get("gate"))
    bundle, history = fit_sequence_model(model_input, model_params, train_cfg)
    bundle = get_task(task).calibrate(bundle, model_input)
    metrics, _, figures = get_task(task).evaluate(bundle, model_input, history)
    for figure in figures.values():
        plt.close(figure)
    metrics["tuning"] = {k: best_params[k] for k in ("study_name", "best_trial", "monitor_value")}
    return bundle, history, metrics


def register_best_model(bundle: dict, metrics: dict) -> dict:
    """Registered exactly as normal training does: new version of ``seqhealth-<task>``, alias challenger."""
    from seqhealth.tracking.registry import log_and_register

    tuning = metrics.get("tuning", {})
    return log_and_register(bundle, metrics, bundle["task"],
                            version_tags={"source": "tune", "optuna.study_name": tuning.get("study_name", ""),
                                          "optuna.best_trial": tuning.get("best_trial", "")})
