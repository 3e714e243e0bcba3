"""Gene-level agreement of calls with an annotation, on chosen loci: what gene-finder papers report.

A call matches an annotated CDS on its 3' end when strand and stop codon are the same (the start
may differ), and exactly when start and stop both are. Sensitivity = matched annotated genes /
annotated genes, precision = matched calls / calls, counting the genes whose 3' end lies in the
scored loci. The per-base MCC compares the track covered by calls with the annotated coding
track on the same bases. Any gene finder's calls (ours, pyrodigal's) go through the same code.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.metrics import matthews_corrcoef

from seqhealth.genomics.gene_calls import calls_track
from seqhealth.genomics.labels import coding_track


def annotated_genes(cds_parts: Iterable) -> dict[str, np.ndarray]:
    """``begin``/``end``/``strand`` of each annotated CDS (the span of its parts)."""
    spans = [
        (min(p[0] for p in parts), max(p[1] for p in parts), parts[0][2])
        for parts in cds_parts or []
        if parts
    ]
    array = np.asarray(spans, dtype=np.int64).reshape(-1, 3)
    return {"begin": array[:, 0], "end": array[:, 1], "strand": array[:, 2]}


def three_prime(genes: dict) -> np.ndarray:
    """Position of the last base of each gene on its own strand (the stop codon's last base)."""
    strand = np.asarray(genes["strand"])
    return np.where(strand > 0, np.asarray(genes["end"]) - 1, np.asarray(genes["begin"]))


def _inside(positions: np.ndarray, intervals: list[tuple[int, int]]) -> np.ndarray:
    keep = np.zeros(len(positions), dtype=bool)
    for start, end in intervals:
        keep |= (positions >= start) & (positions < end)
    return keep


def _keys(genes: dict, keep: np.ndarray, exact: bool) -> set:
    return set(_list_keys(genes, keep, exact))


def gene_level_metrics(records: dict, calls: dict, loci: list[tuple[str, int, int]]) -> dict:
    """Agreement of ``calls`` with the annotation on ``loci``.

    ``records``: record id -> ``{"length": int, "cds_parts": [...]}``; ``calls``: record id ->
    ``{"begin", "end", "strand"}`` arrays; ``loci``: ``(record id, start, end)`` scored stretches.
    """
    by_record: dict[str, list[tuple[int, int]]] = {}
    for record_id, start, end in loci:
        by_record.setdefault(record_id, []).append((int(start), int(end)))
    counts = dict.fromkeys(
        ("annotated", "called", "stop_true", "stop_called_true", "exact_true", "exact_called_true"),
        0,
    )
    truth_bases, call_bases = [], []
    for record_id, intervals in by_record.items():
        record = records[record_id]
        truth = annotated_genes(record["cds_parts"])
        found = calls.get(record_id) or {
            "begin": np.zeros(0, int),
            "end": np.zeros(0, int),
            "strand": np.zeros(0, int),
        }
        truth_keep = _inside(three_prime(truth), intervals)
        call_keep = _inside(three_prime(found), intervals)
        counts["annotated"] += int(truth_keep.sum())
        counts["called"] += int(call_keep.sum())
        for exact, name in ((False, "stop"), (True, "exact")):
            truth_keys, call_keys = _keys(truth, truth_keep, exact), _keys(found, call_keep, exact)
            common = truth_keys & call_keys
            # Two annotated CDS may share a stop (alternative starts): count each side on its own.
            counts[f"{name}_true"] += sum(
                key in common for key in _list_keys(truth, truth_keep, exact)
            )
            counts[f"{name}_called_true"] += sum(
                key in common for key in _list_keys(found, call_keep, exact)
            )
        track_true = coding_track(int(record["length"]), record["cds_parts"])
        track_call = calls_track(found, int(record["length"]))
        for start, end in intervals:
            truth_bases.append(track_true[start:end])
            call_bases.append(track_call[start:end])
    y_true = np.concatenate(truth_bases) if truth_bases else np.zeros(0, np.uint8)
    y_call = np.concatenate(call_bases) if call_bases else np.zeros(0, np.uint8)
    mcc = float(matthews_corrcoef(y_true, y_call)) if len(np.unique(y_true)) > 1 else float("nan")
    ratio = lambda a, b: float(a / b) if b else float("nan")  # noqa: E731
    return {
        "per_base_mcc": mcc,
        "stop_sensitivity": ratio(counts["stop_true"], counts["annotated"]),
        "stop_precision": ratio(counts["stop_called_true"], counts["called"]),
        "exact_sensitivity": ratio(counts["exact_true"], counts["annotated"]),
        "exact_precision": ratio(counts["exact_called_true"], counts["called"]),
        "n_annotated": counts["annotated"],
        "n_called": counts["called"],
        "n_bases": int(len(y_true)),
    }


def _list_keys(genes: dict, keep: np.ndarray, exact: bool) -> list:
    strand, begin, end = (np.asarray(genes[k])[keep].tolist() for k in ("strand", "begin", "end"))
    stop = three_prime({k: np.asarray(genes[k])[keep] for k in ("begin", "end", "strand")}).tolist()
    return [(s, b, e) if exact else (s, p) for s, b, e, p in zip(strand, begin, end, stop)]
