"""The retrain steps as plain functions (the Kedro nodes in ``pipelines/retrain`` only wire them).

1. ``check_data_state``: fingerprint the raw partitions; same as at the last decision -> skip.
2. ``prepare_model_input``: ingest every partition, build the model input with the frozen
   evaluation groups as test.
3. ``train_challenger``: the task's ordinary training (shared ``train`` group + task overrides).
4. ``compare_on_frozen_set``: challenger and champion (from the registry) scored by the task's
   own evaluate function on the same val/test groups.
5. ``decide_and_record``: register the challenger, apply the gate, move ``champion`` or not, and
   record the decision in MLflow (run + model version tags) and in the decision document.

A skip flows through every step as ``SKIPPED`` (Kedro runs every node of a pipeline, and its
datasets refuse ``None``); ``OptionalDataset`` files are left as they are.
"""

from __future__ import annotations

import logging
import math

import matplotlib.pyplot as plt
import mlflow
from mlflow import MlflowClient

from seqhealth.engine.fit import model_hparams, resolve_train_config, train_model
from seqhealth.engine.gate import check_ingested
from seqhealth.retraining.champion import load_champion_bundle
from seqhealth.retraining.data_state import public_summary
from seqhealth.retraining.frozen_eval import build_with_frozen_eval, split_counts
from seqhealth.retraining.gate import GateConfig, decide
from seqhealth.retraining.skipped import SKIPPED, Skipped, is_skipped
from seqhealth.tasks.registry import get_task
from seqhealth.tracking.registry import champion_metrics, log_and_register, promote
from seqhealth.tracking.run_logging import set_tags

logger = logging.getLogger(__name__)
TAG_PREFIX = "seqhealth.retrain"
_MAX_TAG = 4900  # MLflow tag values are capped at 5000 characters (8000 in newer stores)


def check_data_state(raw_partitions, previous_decision: dict | None, retrain: dict) -> dict:
    """Counts and fingerprint of today's raw data; ``retrain`` False when nothing changed."""
    state = raw_partitions.state()
    previous = ((previous_decision or {}).get("data_state") or {}).get("fingerprint")
    changed = previous != state["fingerprint"]
    logger.info("retrain %s: %d files in %d partitions, fingerprint %s (last retrain: %s)", raw_partitions.task,
                state["n_files"], len(state["partitions"]), state["fingerprint"], previous or "none")  # fmt: skip
    return {
        "task": raw_partitions.task,
        **public_summary(state),
        "partitions": state["partitions"],
        "previous_fingerprint": previous,
        "changed": changed,
        "retrain": changed or bool(retrain.get("force")),
    }


def prepare_model_input(raw_partitions, state: dict, frozen_previous: dict | None, parameters: dict):
    """``(model_input, frozen_eval, builder_inputs, quarantine, ingest_report)``.

    On skip: ``SKIPPED`` everywhere (the files of the last real retrain are left as they are)."""
    if not state["retrain"]:
        return SKIPPED, SKIPPED, SKIPPED, SKIPPED, SKIPPED
    task = get_task(state["task"])
    task_params = parameters[task.name]
    ingested = task.ingest(raw_partitions.read(), task_params)
    check_ingested(task.name, ingested, task.builder_inputs)
    builder_inputs = tuple(ingested[name] for name in task.builder_inputs)
    quarantine, report = ingested["quarantine"], ingested["ingest_report"]
    model_input, frozen = build_with_frozen_eval(task, builder_inputs, task_params[task.params_key], frozen_previous)
    report = {**report, **split_counts(model_input), "frozen_eval_groups": len(frozen["groups"]),
              "frozen_eval_missing_now": len(frozen["missing_now"])}  # fmt: skip
    return model_input, frozen, builder_inputs, quarantine, report


def train_challenger(model_input: dict | Skipped, parameters: dict):
    """``(bundle, history)`` trained like ``kedro run --pipeline <task>``."""
    if is_skipped(model_input):
        return SKIPPED, SKIPPED
    task = model_input["task"]
    task_params = parameters[task]
    train_cfg = resolve_train_config(parameters["train"], task_params.get("train"))
    train_cfg["gate"] = get_task(task).training_gate(train_cfg.get("gate"))  # same gate as training
    if parameters["retrain"].get("warm_start"):
        train_cfg["_init_state_dict"] = _champion_weights(task, model_input, task_params["model"])
    bundle, history = train_model(model_input, task_params["model"], train_cfg)
    return get_task(task).calibrate(bundle, model_input), history


def _champion_weights(task: str, model_input: dict, model_params: dict):
    """The champion's weights when its architecture matches this challenger's, else None."""
    try:
        champion = load_champion_bundle(task)
    except Exception as error:  # no champion yet (first retrain) or registry unreachable
        logger.info("warm start: no champion weights for %s (%s); training from scratch", task, error)
        return None
    # Class balance and optimiser settings may change with new data; the shapes may not.
    not_shape = {"pos_weight", "class_weights", "lr", "weight_decay", "lr_schedule", "dropout"}
    wanted = model_hparams(model_input, model_params)
    if {k: v for k, v in champion["hparams"].items() if k not in not_shape} != {
        k: v for k, v in wanted.items() if k not in not_shape
    }:
        logger.warning("warm start: champion of %s has other hyper-parameters; training from scratch", task)
        return None
    return champion["state_dict"]


def _evaluate(task, bundle: dict, model_input: dict, history: list[dict]) -> dict:
    metrics, _predictions, figures = task.evaluate(bundle, model_input, history)
    for figure in (figures or {}).values():
        plt.close(figure)
    return metrics


def compare_on_frozen_set(challenger: dict | Skipped, history, model_input: dict | Skipped, builder_inputs):
    """Both models' metric documents on the same frozen test groups (champion None if none)."""
    if is_skipped(challenger):
        return SKIPPED
    task = get_task(model_input["task"])
    challenger_doc = _evaluate(task, challenger, model_input, history)
    loaded = load_champion_bundle(task.name)
    if loaded is None:
        return {"challenger": challenger_doc, "champion": None, "champion_version": None}
    champion, version = loaded
    eval_input = model_input
    # A champion normalised with statistics of ITS training patients is scored on re-encoded samples.
    samples = task.eval_samples_for(model_input, builder_inputs, champion["preprocessing"])
    if samples is not None:
        eval_input = {**model_input, "splits": {**model_input["splits"], **samples}}
    champion_doc = _evaluate(task, champion, eval_input, [])
    return {"challenger": challenger_doc, "champion": champion_doc, "champion_version": version}


def _metric_tags(prefix: str, test: dict | None) -> dict:
    return {f"{prefix}.{k}": f"{v:.6g}" for k, v in (test or {}).items() if isinstance(v, int | float) and math.isfinite(v)}


def _record_in_mlflow(run_id: str | None, version_ref: tuple[str, str] | None, decision: dict) -> None:
    """Decision, reason and both metric sets as tags on the run and on the model version."""
    tags = {
        f"{TAG_PREFIX}.decision": decision["decision"],
        f"{TAG_PREFIX}.reason": decision["reason"][:_MAX_TAG],
        f"{TAG_PREFIX}.data_fingerprint": decision["data_state"]["fingerprint"],
        f"{TAG_PREFIX}.data_files": decision["data_state"]["n_files"],
        **_metric_tags(f"{TAG_PREFIX}.champion", (decision["champion"] or {}).get("test")),
        **_metric_tags(f"{TAG_PREFIX}.challenger", (decision["challenger"] or {}).get("test")),
    }
    if decision["champion"] and decision["champion"].get("version") is not None:
        tags[f"{TAG_PREFIX}.champion_version"] = decision["champion"]["version"]
    client = MlflowClient()
    if run_id:
        set_tags(run_id, tags, client)
        numbers = {k.replace(f"{TAG_PREFIX}.", "retrain.", 1): float(v) for k, v in tags.items()
                   if ".champion." in k or ".challenger." in k}  # fmt: skip
        for key, value in numbers.items():
            client.log_metric(run_id, key, value)
    if version_ref:
        for key, value in tags.items():
            client.set_model_version_tag(version_ref[0], version_ref[1], key, str(value))


def decide_and_record(challenger: dict | Skipped, comparison: dict | Skipped, state: dict, parameters: dict) -> dict:
    """The decision document ``{"task", "decision", "reason", "champion", "challenger", ...}``."""
    task = state["task"]
    data_state = {k: state[k] for k in ("fingerprint", "n_files", "n_bytes", "n_partitions", "partitions")}
    active = mlflow.active_run()
    if is_skipped(challenger):
        current = champion_metrics(task)
        decision = {
            "task": task,
            "decision": "skipped",
            "reason": f"no new data since the last retrain (data fingerprint {state['fingerprint']} unchanged); nothing trained",
            "champion": {"version": current["version"], "test": current["test"]} if current else None,
            "challenger": None,
            "data_state": data_state,
        }
        _record_in_mlflow(active.info.run_id if active else None, None, decision)
        logger.info("retrain %s: skipped (%s)", task, decision["reason"])
        return decision
    config = GateConfig.for_task(parameters["retrain"]["gate"], parameters[task].get("retrain_gate"), task)
    champion_doc, challenger_doc = comparison["champion"], comparison["challenger"]
    result = decide(champion_doc["test"] if champion_doc else None, challenger_doc["test"], config)
    registration = log_and_register(
        challenger, challenger_doc, task, make_first_champion=False, version_tags={f"{TAG_PREFIX}.candidate": "true"}
    )
    if result.promote:
        promote(task, registration["version"])
    decision = {
        "task": task,
        "decision": "promoted" if result.promote else "kept",
        "reason": result.reason,
        "champion": {"version": comparison["champion_version"], **_scores(champion_doc, ("n_test",))} if champion_doc else None,
        "challenger": {"version": registration["version"], "run_id": registration["run_id"],
                       **_scores(challenger_doc, ("n_train", "n_val", "n_test"))},  # fmt: skip
        "gate": {"primary": config.primary, "margin": config.margin, "tolerance": config.tolerance,
                 "guards": config.guards, "checks": result.checks},  # fmt: skip
        "data_state": data_state,
        "champion_after": registration["version"] if result.promote else comparison["champion_version"],
    }
    _record_in_mlflow(registration["run_id"], (registration["registered_model"], str(registration["version"])), decision)
    logger.info("retrain %s: %s (%s)", task, decision["decision"], decision["reason"])
    return decision


def _scores(document: dict, counts: tuple[str, ...]) -> dict:
    """What the decision file keeps of a metrics document: test metrics and split sizes."""
    return {"test": document["test"], **{k: document[k] for k in counts if k in document}}
