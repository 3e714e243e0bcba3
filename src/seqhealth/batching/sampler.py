"""Length-bucketed batch sampler: little padding, still random, DDP aware.

Per epoch (seed ``seed + epoch``): shuffle all indices, cut them into pools of
``pool_size_batches`` batches, sort each pool by length, cut each pool into batches (a fixed
``batch_size`` or a ``max_tokens`` budget on padded slots), then shuffle the batch order.
Sorting only inside a pool keeps batches nearly pad-free while the batch composition still
changes every epoch.

DDP: every rank builds the same global batch list (same seed and epoch) and takes every
``num_replicas``-th batch starting at ``rank``. All ranks must run the same number of steps or
the gradient all-reduce hangs, so when the batch count does not divide evenly the list is
padded by repeating its first batches (deterministic: the same on every rank); those repeated
samples are seen twice in that epoch. With ``drop_last=True`` the surplus batches are dropped
instead (those samples are skipped for that epoch only: the next epoch reshuffles).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler


class _EpochRelay:
    """Lightning calls ``dataloader.batch_sampler.sampler.set_epoch(epoch)`` at the start of
    every epoch (fit and evaluation loops, also on resume); this relay forwards it to the
    batch sampler so no extra callback or dataloader reload is needed."""

    def __init__(self, owner: BucketBatchSampler):
        self._owner = owner

    def set_epoch(self, epoch: int) -> None:
        self._owner.set_epoch(epoch)


def _distributed_world() -> tuple[int, int] | None:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return None


def token_budget_batches(sorted_indices: np.ndarray, sorted_lengths: np.ndarray,
                         max_tokens: int) -> list[np.ndarray]:
    """Greedy cut of length-ascending indices so that ``max_len * n <= max_tokens``.

    A sample longer than ``max_tokens`` on its own still gets a batch of one (it cannot be
    split here), so the budget holds for every batch whose samples fit it individually.
    """
    batches, start, n = [], 0, len(sorted_indices)
    while start < n:
        end = start + 1
        # Lengths ascend, so the newest sample's length is the batch maximum.
        while end < n and int(sorted_lengths[end]) * (end - start + 1) <= max_tokens:
            end += 1
        batches.append(sorted_indices[start:end])
        start = end
    return batches


class BucketBatchSampler(Sampler[list[int]]):
    """Yields lists of dataset indices of similar length (see module docstring)."""

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int | None = None,
        max_tokens: int | None = None,
        pool_size_batches: int = 50,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
    ):
        if (batch_size is None) == (max_tokens is None):
            raise ValueError("BucketBatchSampler: give exactly one of batch_size or max_tokens")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"BucketBatchSampler: batch_size must be >= 1, got {batch_size}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"BucketBatchSampler: max_tokens must be >= 1, got {max_tokens}")
        if pool_size_batches < 1:
            raise ValueError("BucketBatchSampler: pool_size_batches must be >= 1")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.pool_size_batches = pool_size_batches
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        if num_replicas is None or rank is None:
            world = _distributed_world()
            num_replicas, rank = world if world else (1, 0)
        if not 0 <= rank < num_replicas:
            raise ValueError(f"BucketBatchSampler: rank {rank} not in [0, {num_replicas})")
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.epoch = 0
        self.sampler = _EpochRelay(self)
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _pool_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size * self.pool_size_batches
        mean_length = max(1.0, float(self.lengths.mean())) if len(self.lengths) else 1.0
        return max(1, int(self.max_tokens / mean_length)) * self.pool_size_batches

    def global_batches(self) -> list[np.ndarray]:
        """All batches of this epoch, before sharding over ranks."""
        n = len(self.lengths)
        rng = np.random.default_rng(self.seed + self.epoch)
        if self.shuffle:
            order = rng.permutation(n)
            pool_size = self._pool_size()
        else:
            # Evaluation: one pool sorted by length, batches in length order (deterministic).
            order = np.arange(n)
            pool_size = max(n, 1)
        batches: list[np.ndarray] = []
        for start in range(0, n, pool_size):
            pool = order[start:start + pool_size]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            if self.batch_size is not None:
                cut = [pool[i:i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
                if self.drop_last and cut and len(cut[-1]) < self.batch_size:
                    cut = cut[:-1]
            else:
                cut = token_budget_batches(pool, self.lengths[pool], self.max_tokens)
            batches.extend(cut)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _rank_batches(self) -> list[list[int]]:
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        batches = self.global_batches()
        replicas = self.num_replicas
        if replicas > 1 and batches:
            if self.drop_last:
                batches = batches[: len(batches) - len(batches) % replicas]
            else:
                missing = (-len(batches)) % replicas
                # Repeat from the start (cycling if needed): identical on every rank.
                batches = batches + [batches[i % len(batches)] for i in range(missing)]
        mine = [b.tolist() for b in batches[self.rank::replicas]]
        self._cache = (self.epoch, mine)
        return mine

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._rank_batches()

    def __len__(self) -> int:
        return len(self._rank_batches())
