"""Deterministic group splits: by patient, or by genomic locus (non-overlapping blocks).

Splitting is always done on groups (a patient, a coordinate block, a sequence), never on rows
or windows, so that no patient or locus can appear in two splits.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def split_groups(
    group_ids: Sequence[Hashable],
    fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    strata: Mapping[Hashable, Hashable] | None = None,
) -> dict[Hashable, str]:
    """Assign each distinct group to ``train`` / ``val`` / ``test``.

    The order of ``group_ids`` does not matter (they are sorted first), so the assignment
    depends only on the set of groups, the fractions and the seed. With ``strata`` (group ->
    class) each class is split separately, so rare positives land in every split.
    """
    fractions = dict(fractions or {"train": 0.7, "val": 0.15, "test": 0.15})
    if set(fractions) != set(SPLITS) or abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ValueError(f"fractions must give train/val/test summing to 1, got {fractions}")
    groups = sorted(set(group_ids), key=str)
    if strata is None:
        by_stratum = {None: groups}
    else:
        missing = [g for g in groups if g not in strata]
        if missing:
            raise ValueError(f"{len(missing)} groups have no stratum, e.g. {missing[:3]}")
        by_stratum: dict = {}
        for group in groups:
            by_stratum.setdefault(strata[group], []).append(group)
    rng = np.random.default_rng(seed)
    assignment: dict[Hashable, str] = {}
    for stratum in sorted(by_stratum, key=str):
        members = by_stratum[stratum]
        order = rng.permutation(len(members))
        n_val, n_test = _split_sizes(len(members), fractions)
        for rank, index in enumerate(order):
            split = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            assignment[members[index]] = split
    return assignment


def _split_sizes(n: int, fractions: Mapping[str, float]) -> tuple[int, int]:
    """Sizes of val and test; each gets at least one group once there are three or more."""
    n_val = int(round(n * fractions["val"]))
    n_test = int(round(n * fractions["test"]))
    if n >= 3:
        n_val, n_test = max(n_val, 1 if fractions["val"] > 0 else 0), max(
            n_test, 1 if fractions["test"] > 0 else 0
        )
    n_val = min(n_val, max(n - n_test - 1, 0))
    return n_val, n_test


def genomic_blocks(record_lengths: Mapping[str, int], block_size: int) -> list[tuple[str, int, int]]:
    """Cut every record into non-overlapping ``(record_id, start, end)`` coordinate blocks.

    A short last piece (< half a block) is merged into the previous block, so no block is a
    sliver that could hold a fragment of a gene too small to learn from.
    """
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    blocks = []
    for record_id, length in record_lengths.items():
        starts = list(range(0, length, block_size))
        if len(starts) > 1 and length - starts[-1] < block_size // 2:
            starts.pop()
        ends = starts[1:] + [length]
        blocks.extend((record_id, s, e) for s, e in zip(starts, ends))
    return blocks
