"""Variable-length batching: dataset, length-bucketed DDP-aware sampler, padding collate."""

from seqhealth.batching.arrow_store import ArrowSequenceDataset, ArrowStoreWriter, write_arrow_store
from seqhealth.batching.collate import IGNORE_LABEL, PAD_TOKEN, pad_collate
from seqhealth.batching.dataset import SequenceDataset
from seqhealth.batching.sampler import BucketBatchSampler, token_budget_batches

__all__ = [
    "ArrowSequenceDataset",
    "ArrowStoreWriter",
    "IGNORE_LABEL",
    "PAD_TOKEN",
    "BucketBatchSampler",
    "SequenceDataset",
    "pad_collate",
    "token_budget_batches",
    "write_arrow_store",
]
