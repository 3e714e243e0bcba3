"""The frozen evaluation set: the held-out groups of a task's FIRST retrain stay held out forever.

``splits.split_groups`` assigns groups from the set of groups it is given, so new patients or
sequences would reshuffle the test split and champion/challenger comparisons across retrains
would be on different patients. Here the first retrain records its test groups; later retrains
force those groups into ``test`` and split only the other groups into train/val.

Every task's builder splits through the ``split`` function it is given (and fits normalisation
on the train patients it returns): ``build_with_frozen_eval`` hands it one that honours the frozen
set, and then checks that the builder really used it (so a builder that stopped splitting
through ``split`` cannot silently unfreeze the set).
The document lives next to the model input (``data/05_model_input/<task>/frozen_eval.json``):
group names may be patient ids, so it is never logged to MLflow.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime

from seqhealth.splits import split_groups
from seqhealth.tasks.base import Task

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def frozen_split_function(frozen: set[str] | None, key_of: Callable[[Hashable], str], seen: dict) -> Callable:
    """A drop-in ``split_groups`` that keeps ``frozen`` groups (by ``key_of`` name) in ``test``.

    ``frozen=None`` (first retrain): the ordinary split. The assignment made is copied into
    ``seen`` as ``{name: split}`` so the caller can record it and verify it was used.
    """

    def split(group_ids: Sequence[Hashable], fractions: Mapping[str, float] | None = None, seed: int = 0,
              strata: Mapping[Hashable, Hashable] | None = None) -> dict[Hashable, str]:  # fmt: skip
        fractions = dict(fractions or DEFAULT_FRACTIONS)
        if frozen is None:
            assignment = split_groups(group_ids, fractions, seed=seed, strata=strata)
        else:
            rest = [g for g in group_ids if key_of(g) not in frozen]
            train_val = fractions["train"] + fractions["val"]
            # New groups only go to train/val, in the configured train:val proportion.
            rest_fractions = {"train": fractions["train"] / train_val, "val": fractions["val"] / train_val, "test": 0.0}
            assignment = split_groups(rest, rest_fractions, seed=seed, strata=strata) if rest else {}
            assignment.update({g: "test" for g in group_ids if key_of(g) in frozen})
        seen.clear()
        seen.update({key_of(g): s for g, s in assignment.items()})
        return assignment

    return split


def build_with_frozen_eval(task: Task, builder_inputs: tuple, section: dict, frozen: dict | None):
    """``(model_input, frozen_document)``: the task's model input with the frozen groups as test.

    Groups of the frozen set that are absent from today's data (a partition removed) are
    reported in ``frozen_document["missing_now"]``; the comparison then runs on those present.
    """
    frozen_groups = set(frozen["groups"]) if frozen else None
    seen: dict[str, str] = {}
    split = frozen_split_function(frozen_groups, task.group_key(builder_inputs, section), seen)
    model_input = task.build_model_input(*builder_inputs, section, split=split)
    if not seen:
        raise RuntimeError(f"{task.name}: the model-input builder did not split through split_groups")
    test_now = sorted(name for name, s in seen.items() if s == "test")
    if frozen is None:
        frozen = {
            "task": task.name,
            "unit": task.group_unit,
            "frozen_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "groups": test_now,
        }
    elif set(test_now) - frozen_groups:
        raise RuntimeError(f"{task.name}: test groups outside the frozen set: {sorted(set(test_now) - frozen_groups)[:3]}")
    document = {**frozen, "missing_now": sorted(set(frozen["groups"]) - set(seen))}
    return model_input, document


def split_counts(model_input: dict) -> dict:
    """Samples per split (no ids): what the decision file and MLflow may carry."""
    return {f"n_{name}": len(samples) for name, samples in model_input["splits"].items()}
