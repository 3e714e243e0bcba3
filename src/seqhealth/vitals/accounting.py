"""Shared bookkeeping of vitals validation: first-reason-wins observation marks, range checks
and the reconciled report (see ``vitals.validation`` for the accounting rules)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqhealth.quality import QuarantineLog, ingest_report, quarantine_frame
from seqhealth.vitals.schema import ValueRange

CLEAN_COLUMNS = ["patient_id", "time_h", "variable", "value"]
DOMAIN = "vitals"


class ObservationFlags:
    """First-reason-wins quarantine marks over an observation frame (vectorised)."""

    def __init__(self, n: int):
        self.field = np.full(n, None, dtype=object)
        self.reason = np.full(n, None, dtype=object)
        self.repaired = np.zeros(n, dtype=bool)
        self.repairs: dict[str, int] = {}

    @property
    def alive(self) -> np.ndarray:
        return pd.isna(self.field) & ~self.repaired

    def flag(self, mask, field_name: str, reasons) -> None:
        """``reasons``: one text, one per row, or a callable giving the texts of the rows it is
        passed (only the rows this call quarantines: a cohort's reasons are not all written)."""
        selected = np.asarray(mask, dtype=bool) & self.alive
        self.field[selected] = field_name
        if callable(reasons):
            chosen = np.flatnonzero(selected)
            self.reason[chosen] = reasons(chosen) if len(chosen) else []
            return
        reasons = reasons if isinstance(reasons, str) else np.asarray(reasons, dtype=object)
        self.reason[selected] = reasons if isinstance(reasons, str) else reasons[selected]

    def repair(self, mask, name: str) -> None:
        selected = np.asarray(mask, dtype=bool) & self.alive
        self.repaired |= selected
        self.repairs[name] = self.repairs.get(name, 0) + int(selected.sum())

    def quarantine_rows(self, source_file, record_id) -> pd.DataFrame:
        flagged = ~pd.isna(self.field)
        return quarantine_frame(
            {"domain": DOMAIN, "source_file": s, "record_id": r, "field": f, "reason": why}
            for s, r, f, why in zip(
                np.asarray(source_file)[flagged], np.asarray(record_id)[flagged],
                self.field[flagged], self.reason[flagged], strict=True,
            )
        )  # fmt: skip


def range_violations(variables: pd.Series, values: np.ndarray, ranges: dict[str, ValueRange]):
    """Boolean mask of values outside their variable's range + the per-row range text."""
    known = variables.isin(list(ranges))
    outside = np.zeros(len(variables), dtype=bool)
    for name, value_range in ranges.items():
        rows = (variables == name).to_numpy()
        if rows.any():
            outside[rows] = ~value_range.contains(values[rows])
    text = variables.map({k: str(v) for k, v in ranges.items()}).fillna("")
    return outside & known.to_numpy(), text.to_numpy()


def finish_report(flags, obs, clean, source, record_id, context: QuarantineLog, **counts):
    obs_rows = flags.quarantine_rows(source, record_id)
    n_repaired = int(sum(flags.repairs.values()))
    report = ingest_report(
        DOMAIN, len(obs) - n_repaired, len(clean), obs_rows,
        observations_in=len(obs), observations_kept=len(clean),
        observations_quarantined=len(obs_rows), repairs=dict(flags.repairs),
        context_rows=len(context.rows), **counts,
    )  # fmt: skip
    rows = [obs_rows, context.to_frame()]
    quarantine = (
        pd.concat([r for r in rows if len(r)], ignore_index=True)
        if any(len(r) for r in rows)
        else quarantine_frame()
    )
    assert len(quarantine) == report["records_quarantined"] + report["context_rows"]
    return quarantine, report
