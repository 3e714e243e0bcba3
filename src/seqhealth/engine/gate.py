"""The training gate: refuse to fit (or register) a model the data cannot support.

Checked before every fit of training, retraining and tuning (they put the task's minimums in
``train_cfg["gate"]``; ``engine.fit`` checks whenever that key is there, in every torchrun rank
too), on the model input alone, so it is the same for every task; what a task needs is data, not code: its minimums are
``Task.gate_minimums`` (``tasks/base.py``), overridable under ``<task>.train.gate`` in
``parameters_<task>.yml`` or at run time (``--params "<task>.train.gate.min_samples.val=2"``).

Minimums (a split missing from a mapping is not checked; 0 disables a check):

* ``min_samples``: ``{split: n}`` samples (windows, patients, sequences) in each split;
* ``min_per_class``: ``{split: n}`` label units of EVERY class in a split. A unit is what the
  labels count: a sample for sequence-level labels, a position (base, hour) for per-position
  labels; ``unit`` names it in messages. Classification only (``task_kind`` tagging/sequence);
* ``class_groups``: ``{name: [class indices]}`` counts groups of classes as one class (e.g. the
  six strand/frame classes of a gene finder as ``coding``); by default every class counts;
* ``min_classes``: ``{split: n}`` distinct classes present in a split (for multiclass tasks,
  where every class in every split is too much to ask of small held-out sets; a binary task
  with 2 here needs both outcomes whatever ``min_per_class`` says).

A failure raises ``TrainingGateError`` naming the task, the split, what was found and what is
needed. ``require_finite_test_metrics`` is the registry's last line of defence: no model
version without finite headline test metrics.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from seqhealth.batching.arrow_store import open_split

SPLITS = ("train", "val", "test")
IGNORE_LABEL = -100  # batching.collate.IGNORE_LABEL: positions that carry no label
GENERIC_MINIMUMS = {
    "unit": "labels",
    # Three groups is the fewest the splitter can spread over train/val/test; early stopping
    # and calibration need a non-empty validation split, evaluation a non-empty test split.
    "min_samples": {"train": 1, "val": 1, "test": 1},
    # Both outcomes in every split: a one-class split gives AUROC None and an untrainable loss.
    "min_per_class": {"train": 1, "val": 1, "test": 1},
    "min_classes": {"train": 2, "val": 2, "test": 2},
}


class TrainingGateError(ValueError):
    """The data cannot support a model; nothing was trained, logged or registered."""


def merge_minimums(*layers: dict | None) -> dict:
    """Later layers override earlier ones key by key (one level into the split mappings)."""
    merged: dict = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def _class_units(samples: list[dict]) -> Counter:
    """Label units per class over a split's samples (IGNORE_LABEL positions left out)."""
    counts: Counter = Counter()
    for sample in samples:
        y = np.asarray(sample["y"]).ravel()
        y = y[y != IGNORE_LABEL]
        values, n = np.unique(y, return_counts=True)
        counts.update({int(v): int(c) for v, c in zip(values, n)})
    return counts


def gate_counts(model_input: dict, class_groups: dict | None = None) -> dict:
    """``{split: {"samples": n, "classes": {class name: units}}}`` (classes only for classification;
    with ``class_groups`` per group of classes)."""
    classify = model_input.get("task_kind") in ("tagging", "sequence")
    n_classes = int(model_input.get("n_classes") or 1)
    names = list(model_input.get("class_names") or [])
    # Binary tasks have one output (n_classes 1) and labels 0/1; multiclass labels index names.
    expected = range(2) if n_classes == 1 else range(n_classes)
    counts = {}
    for split in SPLITS:
        samples = open_split(model_input.get("splits", {}).get(split, []))
        entry: dict = {"samples": len(samples)}
        if classify:
            units = _class_units(samples)
            if class_groups:
                entry["classes"] = {name: int(sum(units.get(int(k), 0) for k in members))
                                    for name, members in class_groups.items()}  # fmt: skip
            else:
                entry["classes"] = {(names[k] if k < len(names) else str(k)): int(units.get(k, 0)) for k in expected}
        counts[split] = entry
    return counts


def check_training_gate(model_input: dict, minimums: dict | None = None) -> dict:
    """The counts when the data passes; ``TrainingGateError`` listing every shortfall otherwise."""
    rules = merge_minimums(GENERIC_MINIMUMS, minimums)
    task = model_input.get("task", "?")
    unit = rules.get("unit", "labels")
    counts = gate_counts(model_input, rules.get("class_groups"))
    problems = []
    for split in SPLITS:
        found = counts[split]
        need = int((rules.get("min_samples") or {}).get(split, 0) or 0)
        if found["samples"] < need:
            problems.append(f"{split}: {found['samples']} samples, needs at least {need}")
        if "classes" not in found:
            continue
        need_each = int((rules.get("min_per_class") or {}).get(split, 0) or 0)
        for name, units in found["classes"].items():
            if units < need_each:
                problems.append(f"{split}: {units} {unit} of class {name!r}, needs at least {need_each}")
        need_classes = int((rules.get("min_classes") or {}).get(split, 0) or 0)
        present = sum(1 for units in found["classes"].values() if units > 0)
        if present < need_classes:
            problems.append(f"{split}: {present} classes present, needs at least {need_classes}")
    if problems:
        summary = "; ".join(
            f"{s}: {c['samples']} samples" + (f" ({', '.join(f'{k}: {v} {unit}' for k, v in list(c['classes'].items())[:12])}"
                                              f"{', ...' if len(c['classes']) > 12 else ''})" if "classes" in c else "")
            for s, c in counts.items()
        )  # fmt: skip
        raise TrainingGateError(
            f"{task}: the data cannot support a model, nothing was trained or registered. "
            f"Found {summary}. Failed: {'; '.join(problems)}. Add data (more records/patients/loci, "
            f"both outcomes) or lower the minimums under {task}.train.gate (see engine/gate.py)."
        )
    return counts


def check_ingested(task: str, ingested: dict, builder_inputs: tuple[str, ...]) -> None:
    """Nothing left after validation: say so, with the quarantine reasons, before any split
    (an empty builder input otherwise fails later with an unrelated error, e.g. a missing
    checkpoint marker)."""
    sizes = [len(ingested[name]) for name in builder_inputs if hasattr(ingested.get(name), "__len__")]
    if not sizes or min(sizes) > 0:
        return
    quarantine = ingested.get("quarantine")
    if quarantine is None:  # the pipeline's build node: ingestion has saved the quarantine file
        found = "every record quarantined, or the input is empty"
    else:
        reasons = quarantine["reason"].astype(str).value_counts() if "reason" in quarantine else pd.Series(dtype=int)
        top = ", ".join(f"{reason} ({n})" for reason, n in reasons.head(5).items())
        found = f"{len(quarantine)} quarantined, 0 kept" + (f"; reasons: {top}" if top else "")
    raise TrainingGateError(
        f"{task}: no record passed validation ({found}); nothing to train on. "
        f"The reasons per record: data/08_reporting/{task}/quarantine.csv (counts: ingest_report.json)."
    )


def require_finite_test_metrics(metrics: dict | None, headline: tuple[str, ...] | list[str], task: str) -> None:
    """Refuse a registration whose headline test metrics are missing, None or not finite."""
    test = (metrics or {}).get("test") if isinstance(metrics, dict) else None
    if not isinstance(test, dict) or not test:
        raise TrainingGateError(f"{task}: no test metrics; a model is registered only with finite test metrics")
    wanted = [m for m in headline if m in test] or list(test)
    bad = {m: test.get(m) for m in wanted if not _finite(test.get(m))}
    if bad or not any(_finite(test.get(m)) for m in wanted):
        raise TrainingGateError(
            f"{task}: test metrics {bad or wanted} are not finite numbers (a one-class or empty test split?); "
            "the model was not registered and no alias moved"
        )


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
