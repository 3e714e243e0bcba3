"""Building blocks of a vitals model input built partition by partition (issue 21, point 3).

The prepared layer (``vitals.partitions``) keeps a cohort as hive-partitioned Parquet, every
patient in exactly one partition. Everything a model input needs from the whole cohort is small
and can be gathered one partition at a time: the patient ids and strata (for the split), the
normalisation statistics of the training patients (``ObservedMoments``: per-variable count, sum
and sum of squares) and the label counts. The samples themselves are written to per-split Arrow
stores as they are made (``batching.arrow_store``), then put in the in-memory builder's order
(sorted patient ids) by ``write_in_order``, so training sees the very same sample order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.batching.arrow_store import ArrowSequenceDataset, write_arrow_store
from seqhealth.vitals.partitions import read_layer


def partition_numbers(cache: str | Path) -> list[int]:
    """The prepared partitions under ``cache`` (``labels/partition=<n>``), in number order."""
    folders = (Path(cache) / "labels").glob("partition=*")
    found = sorted(int(f.name.split("=", 1)[1]) for f in folders if f.name.split("=", 1)[1].isdigit())
    if not found:
        raise FileNotFoundError(f"{cache}: no prepared partition (ingest with a prepared_cache writes them)")
    return found


def read_partition(cache: str | Path, part: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(observations, labels)`` of one prepared partition, as ``prepare_2019`` reads them back."""
    return read_layer(cache, "observations", part), read_layer(cache, "labels", part)


class ObservedMoments:
    """Per-variable count, sum and sum of squares of observed (non-NaN) values, added patient by
    patient; ``stats`` gives what ``features.fit_normalisation`` gives on the same patients."""

    def __init__(self, variables: Sequence[str]):
        self.variables = list(variables)
        n = len(self.variables)
        self.count = np.zeros(n, dtype=np.int64)
        self.total = np.zeros(n, dtype=np.float64)
        self.squares = np.zeros(n, dtype=np.float64)
        self.n_patients = 0

    def add(self, values: np.ndarray) -> None:
        observed = ~np.isnan(values)
        seen = np.where(observed, values, 0.0).astype(np.float64)
        self.count += observed.sum(axis=0)
        self.total += seen.sum(axis=0)
        self.squares += (seen * seen).sum(axis=0)
        self.n_patients += 1

    def stats(self) -> dict:
        if not self.n_patients:
            raise ValueError("normalisation needs at least one training patient")
        mean = np.divide(self.total, self.count, out=np.zeros_like(self.total), where=self.count > 0)
        # sum (x - mean)^2 = sum x^2 - mean * sum x; float64 keeps the cancellation far below
        # float32 resolution for vital-sign scales, so the float32 statistics match the two-pass ones.
        centred = np.maximum(self.squares - mean * self.total, 0.0)
        std = np.sqrt(np.divide(centred, self.count, out=np.zeros_like(centred), where=self.count > 0))
        std = np.where(std > 1e-6, std, 1.0)
        return {"variables": list(self.variables), "mean": mean.astype(np.float32), "std": std.astype(np.float32),
                "n_patients": self.n_patients}  # fmt: skip


def float32_mean(total: float, n: int) -> float:
    """``np.mean`` of a float32 array whose (exact) sum is ``total`` over ``n`` items: the float32
    sum divided in float64 by the count and rounded to float32, as numpy does."""
    return float(np.float32(np.float64(np.float32(total)) / n))


def write_in_order(staged: str | Path, order: Sequence[int], path: str | Path, metadata: dict | None = None) -> Path:
    """Rewrite the store ``staged`` with its items in ``order`` (reading one item at a time), then
    remove it: the samples were written as the partitions came, training wants another order."""
    source = ArrowSequenceDataset(staged)

    def items() -> Iterator[dict]:
        for index in order:
            item = source[int(index)]
            yield {"x": item["x"], "y": item["y"], "length": item["length"], "weight": item.get("weight")}

    out = write_arrow_store(items(), path, metadata=metadata)
    Path(staged).unlink()  # an open descriptor keeps reading it until the dataset goes
    return out
