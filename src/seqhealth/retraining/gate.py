"""The champion / challenger promotion gate (pure: two metric dicts in, a decision out).

Rule (``retrain.gate`` in parameters_retrain.yml: margin and tolerance; each task's metrics in
``<task>.retrain_gate`` of its own parameters file):

* the challenger's PRIMARY metric must beat the champion's by more than ``margin``
  (a tie is not an improvement: promoting costs a deployment and resets trust);
* no GUARD metric may regress by more than ``tolerance`` (absolute), in that metric's own
  direction (``max``: higher is better, e.g. auprc; ``min``: lower is better, e.g. brier);
* a metric that cannot be computed (None / NaN, e.g. AUROC with one class in the frozen set)
  blocks promotion: the gate never promotes on a number it could not check.
* no champion: the challenger is the first model and is promoted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GateConfig:
    primary: str
    primary_mode: str = "max"
    margin: float = 0.0
    tolerance: float = 0.02
    guards: dict[str, str] = field(default_factory=dict)  # metric -> max | min

    @classmethod
    def for_task(cls, gate_params: dict, task_gate: dict | None, task: str) -> GateConfig:
        """``gate_params``: the shared ``retrain.gate``; ``task_gate``: ``<task>.retrain_gate``."""
        if not task_gate or "primary" not in task_gate:
            raise ValueError(f"{task}: no retrain_gate.primary in parameters_{task}.yml (the metric the gate compares)")
        task_gate = dict(task_gate)
        return cls(
            primary=task_gate["primary"],
            primary_mode=task_gate.get("primary_mode", "max"),
            margin=float(task_gate.get("margin", gate_params.get("margin", 0.0))),
            tolerance=float(task_gate.get("tolerance", gate_params.get("tolerance", 0.02))),
            guards=dict(task_gate.get("guards") or {}),
        )


@dataclass(frozen=True)
class GateResult:
    promote: bool
    reason: str
    checks: list[dict]


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _gain(challenger: float, champion: float, mode: str) -> float:
    """How much better the challenger is (positive = better) in the metric's direction."""
    return challenger - champion if mode == "max" else champion - challenger


def decide(champion: dict | None, challenger: dict, config: GateConfig) -> GateResult:
    """Compare test metric dicts (``metrics["test"]`` of both models on the same frozen set)."""
    if champion is None:
        return GateResult(True, "first model of the task: no champion yet, the challenger becomes champion", [])
    checks, failures = [], []
    metrics = [(config.primary, config.primary_mode, "primary")] + [
        (name, mode, "guard") for name, mode in config.guards.items() if name != config.primary
    ]
    for name, mode, role in metrics:
        old, new = _number(champion.get(name)), _number(challenger.get(name))
        check = {"metric": name, "role": role, "mode": mode, "champion": old, "challenger": new}
        if old is None or new is None:
            check["passed"] = False
            failures.append(f"{role} {name} not computable (champion {old}, challenger {new})")
        elif role == "primary":
            gain = _gain(new, old, mode)
            check.update(gain=gain, passed=gain > config.margin)
            if not check["passed"]:
                failures.append(f"primary {name} {new:.4f} vs champion {old:.4f}: gain {gain:+.4f} <= margin {config.margin}")
        else:
            gain = _gain(new, old, mode)
            check.update(gain=gain, passed=gain >= -config.tolerance)
            if not check["passed"]:
                failures.append(f"guard {name} regressed {new:.4f} vs {old:.4f} ({gain:+.4f} < -{config.tolerance})")
        checks.append(check)
    if failures:
        return GateResult(False, "champion kept: " + "; ".join(failures), checks)
    primary = checks[0]
    return GateResult(
        True,
        f"challenger promoted: {config.primary} {primary['challenger']:.4f} vs champion {primary['champion']:.4f} "
        f"(gain {primary['gain']:+.4f} > margin {config.margin}); no guard regressed more than {config.tolerance}",
        checks,
    )
