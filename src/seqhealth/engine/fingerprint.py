"""Fingerprints of data and configuration: hashes and counts, never the records themselves."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable

import numpy as np


@functools.cache
def _dtype_name(dtype: np.dtype) -> bytes:
    """``str(dtype)`` encoded; cached, since numpy builds that name in Python on every call (a
    tenth of hashing a cohort's samples went into it)."""
    return str(dtype).encode()


def hash_arrays(arrays: Iterable[np.ndarray]) -> str:
    """SHA-256 over the bytes of a sequence of arrays (order matters)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(_dtype_name(array.dtype) + str(array.shape).encode())
        digest.update(
            memoryview(array).cast("B") if array.size else b""
        )  # the bytes, without a copy
    return digest.hexdigest()


def hash_config(config) -> str:
    """Stable SHA-256 of a JSON-serialisable configuration."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def samples_fingerprint(splits: dict[str, list[dict]]) -> dict:
    """Counts and a content hash of model-ready samples, per split."""
    summary = {}
    for name, samples in splits.items():
        summary[name] = {
            "n": len(samples),
            # A lazy sample source knows its lengths without cutting (and featurising) every sample.
            "positions": int(np.sum(samples.lengths))
            if hasattr(samples, "lengths")
            else int(sum(int(s["length"]) for s in samples)),
            "sha256": hash_arrays(np.asarray(part) for s in samples for part in (s["x"], s["y"]))[
                :16
            ],
        }
    summary["sha256"] = hash_config(summary)[:16]
    return summary
