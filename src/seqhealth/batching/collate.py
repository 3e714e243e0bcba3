"""Pad a list of samples into one batch with lengths and a validity mask."""

from __future__ import annotations

import torch

PAD_TOKEN = 0
# Same value as torch.nn.CrossEntropyLoss(ignore_index=...) default, so padded labels are
# recognisable anywhere; the losses also use the mask, never this value alone.
IGNORE_LABEL = -100


def pad_collate(samples: list[dict]) -> dict:
    """Return ``x [B, T_max(, F)]``, ``y [B] or [B, T_max(, K)]``, ``lengths [B]`` (CPU),
    ``mask [B, T_max]``, ``weight [B]`` and ``index [B]`` (position in the dataset, -1 if unknown).

    Tokens are padded with ``PAD_TOKEN`` (0), features with 0.0, per-position labels with
    ``IGNORE_LABEL``.
    """
    if not samples:
        raise ValueError("pad_collate: empty batch")
    lengths = torch.tensor([int(s["length"]) for s in samples], dtype=torch.long)
    batch_size, t_max = len(samples), int(lengths.max())
    first_x = torch.as_tensor(samples[0]["x"])
    x = first_x.new_zeros((batch_size, t_max, *first_x.shape[1:]))
    mask = torch.arange(t_max).unsqueeze(0) < lengths.unsqueeze(1)

    first_y = torch.as_tensor(samples[0]["y"])
    # Per-position targets: ``[T]`` labels, or ``[T, K]`` values (forecasting K series).
    per_position = first_y.dim() >= 1
    if per_position:
        y = torch.full((batch_size, t_max, *first_y.shape[1:]), IGNORE_LABEL, dtype=first_y.dtype)
        if y.is_floating_point():
            y.fill_(float(IGNORE_LABEL))
    else:
        y = first_y.new_empty((batch_size,))

    for b, sample in enumerate(samples):
        n = int(sample["length"])
        x[b, :n] = torch.as_tensor(sample["x"])
        if per_position:
            y[b, :n] = torch.as_tensor(sample["y"])
        else:
            y[b] = torch.as_tensor(sample["y"])

    weight = torch.tensor([float(s.get("weight", 1.0)) for s in samples], dtype=torch.float32)
    index = torch.tensor([int(s.get("index", -1)) for s in samples], dtype=torch.long)
    return {"x": x, "y": y, "lengths": lengths, "mask": mask, "weight": weight, "index": index}
