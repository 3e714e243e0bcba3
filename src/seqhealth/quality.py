"""Shared data-quality vocabulary: quarantine rows, ingest reports and file-level errors.

Every ingestion step returns ``(kept, quarantine, report)`` so that a run can prove
``records_in == records_kept + records_quarantined`` for each domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

QUARANTINE_COLUMNS = ["domain", "source_file", "record_id", "field", "reason"]


class DataFormatError(ValueError):
    """A whole file cannot be read as the format it claims; the message names the file."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass
class QuarantineLog:
    """Collects quarantined records of one domain (``dna`` or ``vitals``)."""

    domain: str
    rows: list[dict] = field(default_factory=list)

    def add(self, source_file: str, record_id: str, field_name: str, reason: str) -> None:
        self.rows.append(
            {
                "domain": self.domain,
                "source_file": str(source_file),
                "record_id": str(record_id),
                "field": field_name,
                "reason": reason,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        return quarantine_frame(self.rows)


def quarantine_frame(rows: Iterable[Mapping] = ()) -> pd.DataFrame:
    """A quarantine table with the canonical columns (empty when there are no rows)."""
    frame = pd.DataFrame(list(rows), columns=QUARANTINE_COLUMNS)
    return frame.astype("string") if len(frame) else frame.astype("object")


def ingest_report(
    domain: str, records_in: int, records_kept: int, quarantine: pd.DataFrame, **extra
) -> dict:
    """Counts that must reconcile; raises if a record went missing without a reason."""
    # One quarantine row per quarantined record (the first reason found wins).
    n_quarantined = len(quarantine)
    if records_in != records_kept + n_quarantined:
        raise AssertionError(
            f"{domain}: records_in={records_in} != kept={records_kept} + "
            f"quarantined={n_quarantined}: a record was lost without a reason"
        )
    return {
        "domain": domain,
        "records_in": int(records_in),
        "records_kept": int(records_kept),
        "records_quarantined": n_quarantined,
        **extra,
    }
