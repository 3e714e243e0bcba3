"""A list of variable-length samples, exposed as a torch ``Dataset``.

A sample is ``{"x": [T] int tokens or [T, F] float features, "y": scalar or [T], "length": int}``
plus an optional ``"weight"``. Arrays are converted to tensors once here, so the collate
function and the training loop never touch numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


def _as_tensor(value, name: str, index: int) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
    if tensor.dtype == torch.float64:
        # float64 doubles memory and is slower; models train in float32.
        tensor = tensor.float()
    if tensor.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32):
        tensor = tensor.long()
    if tensor.dtype == torch.bool:
        tensor = tensor.long()
    return tensor


def check_fields(sample: dict, i: int) -> None:
    for key in ("x", "y", "length"):
        if key not in sample:
            raise ValueError(f"sample {i}: missing field {key!r}")


def check_shapes(x_shape: tuple, y_shape: tuple, length: int, i: int) -> None:
    """The shape rules of a sample (also checked by ``arrow_store`` when writing a store)."""
    if length < 1:
        raise ValueError(f"sample {i}: field 'length' must be >= 1, got {length}")
    if len(x_shape) not in (1, 2) or x_shape[0] != length:
        raise ValueError(f"sample {i}: field 'x' has shape {x_shape}, expected [length={length}] or [length={length}, F]")
    if len(y_shape) == 1 and y_shape[0] != length:
        raise ValueError(f"sample {i}: field 'y' has {y_shape[0]} positions but length is {length}")


def _item(sample: dict, i: int) -> dict:
    """The checked tensor item of one sample (what ``__getitem__`` returns)."""
    check_fields(sample, i)
    x = _as_tensor(sample["x"], "x", i)
    y = _as_tensor(sample["y"], "y", i)
    length = int(sample["length"])
    check_shapes(tuple(x.shape), tuple(y.shape), length, i)
    item = {"x": x, "y": y, "length": length, "index": i}
    if "weight" in sample and sample["weight"] is not None:
        item["weight"] = float(sample["weight"])
    return item


class SequenceDataset(Dataset):
    """Variable-length samples; ``lengths`` (numpy int array) feeds the bucket sampler.

    A list of samples is converted once, up front. A lazy sample source (any indexable with a
    ``lengths`` array, e.g. ``genomics.window_samples.WindowSamples``) is converted item by item
    when read, so a split bigger than memory as tensors (int64 tokens, float32 features) is never
    held whole; items are the same.
    """

    def __init__(self, samples: Sequence[dict]):
        self._source = None
        if not isinstance(samples, list | tuple) and hasattr(samples, "lengths"):
            self._source = samples
            self.lengths = np.asarray(samples.lengths, dtype=np.int64)
            return
        self.samples: list[dict] = [_item(sample, i) for i, sample in enumerate(samples)]
        self.lengths = np.asarray([item["length"] for item in self.samples], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict:
        if self._source is not None:
            return _item(self._source[index], int(index))
        return self.samples[index]
