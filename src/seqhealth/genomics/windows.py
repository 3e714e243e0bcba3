"""Cut long records into overlapping windows and stitch per-window predictions back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cut_windows(length: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` windows covering every base of a record of ``length``.

    Windows step by ``window - overlap``; the last one is aligned to the record end (so it may
    overlap its neighbour more) rather than padded. A record shorter than ``window`` is one window.
    """
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window={window}), got {overlap}")
    if length <= 0:
        return []
    if length <= window:
        return [(0, length)]
    step = window - overlap
    starts = list(range(0, length - window + 1, step))
    if starts[-1] + window < length:
        starts.append(length - window)
    return [(start, start + window) for start in starts]


def stitch(starts: Sequence[int], window_probs: Sequence[np.ndarray], length: int) -> np.ndarray:
    """float32[length, ...]: per-base mean of the predictions of every window covering the base."""
    if len(starts) != len(window_probs):
        raise ValueError(f"{len(starts)} starts but {len(window_probs)} window predictions")
    if not window_probs:
        raise ValueError("no windows to stitch")
    trailing = np.asarray(window_probs[0]).shape[1:]
    total = np.zeros((length, *trailing), dtype=np.float64)
    count = np.zeros(length, dtype=np.int64)
    for start, probs in zip(starts, window_probs):
        probs = np.asarray(probs, dtype=np.float64)
        end = start + len(probs)
        if start < 0 or end > length:
            raise ValueError(f"window ({start}, {end}) outside a record of length {length}")
        total[start:end] += probs
        count[start:end] += 1
    if (count == 0).any():
        first_gap = int(np.argmax(count == 0))
        raise ValueError(f"windows leave base {first_gap} uncovered (record length {length})")
    return (total / count.reshape(-1, *([1] * len(trailing)))).astype(np.float32)
