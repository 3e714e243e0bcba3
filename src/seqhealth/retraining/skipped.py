"""What a retrain with nothing new passes between its nodes and to its outputs instead of data
(Kedro refuses to save ``None``, in memory or to a file)."""

from __future__ import annotations


class Skipped:
    def __repr__(self) -> str:
        return "Skipped()"


SKIPPED = Skipped()


def is_skipped(value) -> bool:
    # isinstance, not identity: a MemoryDataset may hand nodes a copy.
    return isinstance(value, Skipped)
