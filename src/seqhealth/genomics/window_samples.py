"""Training windows of genome records, cut when read (issue 21: model input bounded by the folder's
bases, 2 bytes each, not by its windows' features).

``WindowSamples`` keeps per-record compact arrays (uint8 tokens, uint8 labels, the ORF stop index
when the model reads ORF features) and a window index ``(record, start, length)``. Indexing gives
the sample dict a list of windows gives (``{"x", "y", "length"}``, same values and dtypes), so
``batching.SequenceDataset`` reads it lazily (it has ``lengths``) and every consumer that iterates
or indexes ``model_input["splits"][part]`` works unchanged. Splits share the record arrays (one
copy in memory and in the pickled model input).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqhealth.genomics.orf import window_features

CHUNK = 64  # windows whose features one pass computes when iterating (~11 kb at window 200)


class WindowSamples(Sequence):
    """Windows of ``records``: dicts with ``tokens``, ``labels`` and (ORF features) ``orf_index``."""

    def __init__(self, records: list[dict], windows: np.ndarray, orf_features: bool = False):
        self.records = records
        self.windows = np.asarray(windows, dtype=np.int64).reshape(-1, 3)  # record, start, length
        self.orf_features = orf_features

    @property
    def lengths(self) -> np.ndarray:
        """int64[n]: bases per window (what the bucket sampler needs, without cutting any)."""
        return self.windows[:, 2]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._sample(i) for i in range(*index.indices(len(self)))]
        return self._sample(range(len(self))[index])  # negative indices and bounds as a list

    def __iter__(self):
        """Every window in order. ORF features are computed once per run of up to ``CHUNK``
        windows that cover one stretch of a record (the fingerprint and evaluation read every
        window; consecutive windows overlap, and a split's next block may lie far along)."""
        if not self.orf_features:
            yield from (self._sample(i) for i in range(len(self)))
            return
        for first in range(0, len(self), CHUNK):
            rows = self.windows[first : first + CHUNK]
            ends = rows[:, 1] + rows[:, 2]
            starts = rows[:, 1]
            breaks = (rows[1:, 0] != rows[:-1, 0]) | (starts[1:] > ends[:-1]) | (starts[1:] < starts[:-1])
            cuts = [0, *(np.flatnonzero(breaks) + 1).tolist(), len(rows)]
            for a, b in zip(cuts[:-1], cuts[1:]):
                record = self.records[int(rows[a, 0])]
                low = int(starts[a])
                features = window_features(record["tokens"], record["orf_index"], low, int(ends[a:b].max()))
                for start, length in rows[a:b, 1:].tolist():
                    yield {"x": features[start - low : start - low + length],
                           "y": record["labels"][start : start + length], "length": length}  # fmt: skip

    def _sample(self, i: int) -> dict:
        record_number, start, length = self.windows[i].tolist()
        record = self.records[record_number]
        end = start + length
        tokens = record["tokens"]
        x = window_features(tokens, record["orf_index"], start, end) if self.orf_features else tokens[start:end]
        return {"x": x, "y": record["labels"][start:end], "length": length}
