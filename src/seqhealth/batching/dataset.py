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


class SequenceDataset(Dataset):
    """Variable-length samples; ``lengths`` (numpy int array) feeds the bucket sampler."""

    def __init__(self, samples: Sequence[dict]):
        self.samples: list[dict] = []
        lengths = []
        for i, sample in enumerate(samples):
            for key in ("x", "y", "length"):
                if key not in sample:
                    raise ValueError(f"sample {i}: missing field {key!r}")
            x = _as_tensor(sample["x"], "x", i)
            length = int(sample["length"])
            if length < 1:
                raise ValueError(f"sample {i}: field 'length' must be >= 1, got {length}")
            if x.dim() not in (1, 2) or x.shape[0] != length:
                raise ValueError(
                    f"sample {i}: field 'x' has shape {tuple(x.shape)}, expected [length={length}] "
                    f"or [length={length}, F]"
                )
            y = _as_tensor(sample["y"], "y", i)
            if y.dim() == 1 and y.shape[0] != length:
                raise ValueError(
                    f"sample {i}: field 'y' has {y.shape[0]} positions but length is {length}"
                )
            item = {"x": x, "y": y, "length": length, "index": i}
            if "weight" in sample and sample["weight"] is not None:
                item["weight"] = float(sample["weight"])
            self.samples.append(item)
            lengths.append(length)
        self.lengths = np.asarray(lengths, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        return self.samples[index]
