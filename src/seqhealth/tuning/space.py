"""Search space, sampler and pruner, built from plain configuration (``conf/base/parameters_tune.yml``).

A search-space entry is ``name: {type: categorical|int|float, ...}`` with Optuna's own
arguments (``choices`` / ``low``, ``high``, ``step``, ``log``). Names in ``TRAIN_KEYS`` tune the
Trainer and batching; every other name is a ``SequenceModel`` hyper-parameter.
"""

from __future__ import annotations

import optuna

# Names that belong to the training configuration rather than to the model.
TRAIN_KEYS = ("gradient_clip_val", "batch_size", "max_tokens")

_SUGGEST_ARGS = {
    "categorical": {"choices"},
    "int": {"low", "high", "step", "log"},
    "float": {"low", "high", "step", "log"},
}


def _check_entry(name: str, entry: dict) -> None:
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind not in _SUGGEST_ARGS:
        raise ValueError(f"tune.space.{name}: 'type' must be one of {sorted(_SUGGEST_ARGS)}, got {entry!r}")
    unknown = set(entry) - _SUGGEST_ARGS[kind] - {"type"}
    if unknown:
        raise ValueError(f"tune.space.{name}: unknown keys {sorted(unknown)} for type {kind!r}")
    if kind == "categorical" and not entry.get("choices"):
        raise ValueError(f"tune.space.{name}: categorical needs a non-empty 'choices' list")


def task_space(space: dict, causal: bool) -> dict:
    """The space for one task: a causal task (hourly sepsis warning) never gets a bidirectional
    cell, because its backward direction would read future hours (the model refuses it)."""
    checked = {}
    for name, entry in space.items():
        _check_entry(name, entry)
        checked[name] = dict(entry)
    if causal:
        checked.pop("bidirectional", None)
    return checked


def suggest_params(trial: optuna.trial.BaseTrial, space: dict) -> dict:
    """One configuration drawn from ``space`` (already passed through ``task_space``)."""
    params = {}
    for name, entry in space.items():
        kind = entry["type"]
        args = {k: v for k, v in entry.items() if k != "type"}
        if kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(args["choices"]))
        elif kind == "int":
            params[name] = trial.suggest_int(name, int(args["low"]), int(args["high"]),
                                             step=int(args.get("step", 1)), log=bool(args.get("log", False)))
        else:
            params[name] = trial.suggest_float(name, float(args["low"]), float(args["high"]),
                                               step=args.get("step"), log=bool(args.get("log", False)))
    return params


def split_params(params: dict, causal: bool = False) -> tuple[dict, dict]:
    """``(model_params, train_overrides)`` of a configuration; causal tasks stay unidirectional."""
    model_params = {k: v for k, v in params.items() if k not in TRAIN_KEYS}
    train_overrides = {k: v for k, v in params.items() if k in TRAIN_KEYS}
    if causal:
        model_params["bidirectional"] = False
    return model_params, train_overrides


def make_sampler(config: dict | None, seed: int) -> optuna.samplers.TPESampler:
    """TPE, seeded; ``n_startup_trials`` random trials before the model of good/bad kicks in."""
    config = dict(config or {})
    return optuna.samplers.TPESampler(seed=int(seed), n_startup_trials=int(config.get("n_startup_trials", 5)))


def make_pruner(config: dict | None) -> optuna.pruners.BasePruner:
    """Median (default) or Hyperband, fed one value per epoch by the Lightning callback."""
    config = dict(config or {})
    kind = config.pop("type", "median")
    if kind == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=int(config.get("n_startup_trials", 2)),
            n_warmup_steps=int(config.get("n_warmup_steps", 1)),
            interval_steps=int(config.get("interval_steps", 1)),
        )
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=int(config.get("min_resource", 1)),
            max_resource=config.get("max_resource", "auto"),
            reduction_factor=int(config.get("reduction_factor", 3)),
        )
    raise ValueError(f"tune.pruner.type must be 'median' or 'hyperband', got {kind!r}")
