"""LightningDataModule over ``SequenceDataset`` splits with bucketed, padded batches.

DDP: the module shards batches itself (``num_replicas=trainer.world_size``,
``rank=trainer.global_rank``), so the Trainer must be built with
``use_distributed_sampler=False`` (``models.training.build_trainer`` does); otherwise Lightning
would try to wrap our batch sampler in a ``DistributedSampler``.

Epochs: Lightning itself calls ``dataloader.batch_sampler.sampler.set_epoch(epoch)`` at the
start of each fit/eval epoch (also after resuming from a checkpoint); ``BucketBatchSampler``
exposes a ``sampler`` relay for exactly that, so every rank reshuffles with the same
``seed + epoch`` without reloading dataloaders or an extra callback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from seqhealth.batching.arrow_store import ArrowSequenceDataset, open_split
from seqhealth.batching.collate import pad_collate
from seqhealth.batching.dataset import SequenceDataset
from seqhealth.batching.sampler import BucketBatchSampler

Split = SequenceDataset | ArrowSequenceDataset | Sequence[dict] | str | Path | None


def _as_dataset(split: Split) -> SequenceDataset | ArrowSequenceDataset | None:
    """A list of samples is held in memory; a path names an on-disk store (``arrow_store``),
    read memory-mapped so the split need not fit in RAM."""
    split = open_split(split)
    if split is None or isinstance(split, SequenceDataset | ArrowSequenceDataset):
        return split
    return SequenceDataset(split)


class SequenceDataModule(pl.LightningDataModule):
    def __init__(
        self,
        train: Split,
        val: Split,
        test: Split = None,
        predict: Split = None,
        batch_size: int = 32,
        max_tokens: int | None = None,
        num_workers: int = 0,
        seed: int = 0,
        pool_size_batches: int = 50,
    ):
        super().__init__()
        self.train_set = _as_dataset(train)
        self.val_set = _as_dataset(val)
        self.test_set = _as_dataset(test)
        self.predict_set = _as_dataset(predict)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.num_workers = num_workers
        self.seed = seed
        self.pool_size_batches = pool_size_batches

    def _world(self) -> tuple[int | None, int | None]:
        trainer = self.trainer  # set by Lightning when the data module is attached
        if trainer is None:
            return None, None  # standalone use: the sampler asks torch.distributed
        return trainer.world_size, trainer.global_rank

    def _loader(self, dataset: SequenceDataset | ArrowSequenceDataset | None, shuffle: bool, name: str) -> DataLoader:
        if dataset is None:
            raise ValueError(f"SequenceDataModule: no {name} split was given")
        num_replicas, rank = self._world()
        batch_sampler = BucketBatchSampler(
            dataset.lengths,
            # A token budget only for training; evaluation keeps the fixed batch size so
            # its memory is predictable.
            batch_size=None if (shuffle and self.max_tokens) else self.batch_size,
            max_tokens=self.max_tokens if shuffle else None,
            pool_size_batches=self.pool_size_batches,
            shuffle=shuffle,
            seed=self.seed,
            num_replicas=num_replicas,
            rank=rank,
        )
        return DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=pad_collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True, name="train")

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False, name="val")

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False, name="test")

    def predict_dataloader(self) -> DataLoader:
        # Dataset order (not length order) so predictions line up with the input samples;
        # every rank predicts everything (run prediction on one device).
        if self.predict_set is None:
            raise ValueError("SequenceDataModule: no predict split was given")
        sampler = BatchSampler(SequentialSampler(self.predict_set), self.batch_size, False)
        return DataLoader(self.predict_set, batch_sampler=sampler, collate_fn=pad_collate,
                          num_workers=self.num_workers)
