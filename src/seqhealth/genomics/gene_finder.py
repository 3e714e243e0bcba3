"""The gene finder around the network: a gene model fitted on training loci, a decoder tuned on
validation loci, calls on whole records, and the tables/GFF3 a genomics user takes away.

* ``fit_gene_model(records, train_loci)``: hexamer and start-codon statistics of the annotated
  CDS lying wholly inside the TRAINING loci (``genomics.codon_model``);
* ``tune_decoder(...)``: the decoder's per-base price (``bias``) and hexamer weight chosen on
  VALIDATION loci (3'-end F1 + per-base MCC of the calls), never on test;
* ``calls_frame`` / ``gff3_text``: calls as rows (1-based, inclusive, like GFF3) and as GFF3.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from seqhealth.genomics.codon_model import fit_codon_model, fit_start_context, start_codons_of
from seqhealth.genomics.gene_calls import call_genes, candidate_orfs, reverse_complement
from seqhealth.genomics.gene_metrics import annotated_genes, gene_level_metrics
from seqhealth.genomics.start_model import fit_start_model

DEFAULT_DECODER = {
    "min_length": 90,
    "max_overlap": 60,
    "bias": -1.0,
    "network_weight": 0.3,
    "codon_weight": 1.0,
    "start_weight": 1.0,
    # log P(start | stop) of the start model (genomics.start_model), Prodigal's start scoring:
    # weights 2-4 measured alike on E. coli validation loci, 0 leaves the longest coding ORF.
    "start_model_weight": 3.0,
    "clip": 6.0,
}
CALL_COLUMNS = ["id", "gene_id", "start", "end", "strand", "score", "start_codon"]
_START_NAMES = np.array(["ATG", "GTG", "TTG"])


def fit_gene_model(
    records: pd.DataFrame, train_loci: list[tuple[str, int, int]], k: int = 6
) -> dict | None:
    """Hexamer/start statistics of the annotated genes wholly inside ``train_loci``; None when the
    training loci hold no annotated gene (the decoder then uses the network's scores alone)."""
    by_id = {
        rid: (tokens, cds)
        for rid, tokens, cds in zip(records["record_id"], records["tokens"], records["cds_parts"])
    }
    genes, starts, background, candidates, true_orfs, start_examples = [], [], [], [], [], []
    for record_id, start, end in train_loci:
        tokens, cds = by_id[record_id]
        background.append(tokens[start:end])
        candidates.append(candidate_orfs(tokens[start:end]))
        truth = annotated_genes(cds)
        inside = []
        for b, e, s in zip(
            truth["begin"].tolist(), truth["end"].tolist(), truth["strand"].tolist()
        ):
            if start <= b and e <= end and (e - b) % 3 == 0 and e - b >= 90:
                genes.append(tokens[b:e] if s > 0 else reverse_complement(tokens[b:e]))
                kind = start_codons_of(tokens, b, e, s)
                if kind >= 0:
                    starts.append(kind)
                    inside.append((b - start, e - start, s))
        spans = np.asarray(inside, dtype=np.int64).reshape(-1, 3)
        true_orfs.append({"begin": spans[:, 0], "end": spans[:, 1], "strand": spans[:, 2]})
        start_examples.append((tokens[start:end], candidates[-1], _candidate_index(candidates[-1], inside)))
    if not genes:
        return None
    all_starts = np.concatenate([c["start_codon"] for c in candidates])
    model = fit_codon_model(genes, background, starts, all_starts, k)
    model["start_context"] = fit_start_context(background, true_orfs, candidates)
    model["start_model"] = fit_start_model(start_examples)
    return model


def _candidate_index(orfs: dict, genes: list[tuple[int, int, int]]) -> np.ndarray:
    """int64[]: index among the candidate ORFs of each gene ``(begin, end, strand)`` that is one."""
    where = {
        key: i
        for i, key in enumerate(
            zip(orfs["begin"].tolist(), orfs["end"].tolist(), orfs["strand"].tolist())
        )
    }
    return np.asarray([where[gene] for gene in genes if gene in where], dtype=np.int64)


def decoder_with(gene_model: dict | None, decoder: dict | None) -> dict:
    """The decoder settings, with the start-codon log-ratios of the gene model when there is one."""
    merged = {
        **DEFAULT_DECODER,
        **{k: v for k, v in (decoder or {}).items() if k in (*DEFAULT_DECODER, "start_log_ratio")},
    }
    if gene_model is None:
        merged["codon_weight"] = 0.0
    else:
        merged.setdefault("start_log_ratio", gene_model["start_log_ratio"])
    return merged


def call_records(records: dict, probs: dict, decoder: dict, gene_model: dict | None) -> dict:
    """Record id -> calls, for every record with probabilities."""
    return {
        rid: call_genes(records[rid]["tokens"], probs[rid], decoder, gene_model) for rid in probs
    }


def tune_decoder(
    records: dict, probs: dict, loci: list, gene_model: dict | None, decoder: dict, grid: dict
) -> tuple[dict, list]:
    """The grid point of ``grid`` (e.g. ``{"bias": [...], "codon_weight": [...]}``) with the best
    3'-end F1 + per-base MCC on ``loci`` (validation); returns ``(decoder, trials)``."""
    base = decoder_with(gene_model, decoder)
    names = [name for name in grid if not (name == "codon_weight" and gene_model is None)]
    trials, best, best_score = [], base, -np.inf
    for values in itertools.product(*(grid[name] for name in names)):
        candidate = {**base, **dict(zip(names, values))}
        metrics = gene_level_metrics(
            records, call_records(records, probs, candidate, gene_model), loci
        )
        sens, prec = metrics["stop_sensitivity"], metrics["stop_precision"]
        f1 = (
            2 * sens * prec / (sens + prec) if sens + prec > 0 and np.isfinite(sens + prec) else 0.0
        )
        score = f1 + np.nan_to_num(metrics["per_base_mcc"])
        trials.append(
            {**dict(zip(names, values)), "stop_f1": f1, "per_base_mcc": metrics["per_base_mcc"]}
        )
        if score > best_score:
            best, best_score = candidate, score
    return best, trials


def calls_frame(record_id: str, calls: dict) -> pd.DataFrame:
    """One row per call: 1-based inclusive ``start``/``end`` (GFF3 style), strand ``+``/``-``."""
    order = np.lexsort((calls["end"], calls["begin"]))
    n = len(order)
    return pd.DataFrame(
        {
            "id": [record_id] * n,
            "gene_id": [f"{record_id}_{i + 1}" for i in range(n)],
            "start": np.asarray(calls["begin"], dtype=np.int64)[order] + 1,
            "end": np.asarray(calls["end"], dtype=np.int64)[order],
            "strand": np.where(np.asarray(calls["strand"])[order] > 0, "+", "-"),
            "score": np.asarray(calls["score"], dtype=np.float64)[order],
            "start_codon": _START_NAMES[np.asarray(calls["start_codon"], dtype=np.int64)[order]],
        },
        columns=CALL_COLUMNS,
    )


def gff3_text(calls: pd.DataFrame, lengths: dict[str, int]) -> str:
    """GFF3 of the calls: a ``##sequence-region`` per record, one ``CDS`` line per call (phase 0)."""
    lines = ["##gff-version 3"]
    for record_id, length in lengths.items():
        lines.append(f"##sequence-region {record_id} 1 {int(length)}")
    for row in calls.itertuples(index=False):
        attributes = f"ID={row.gene_id};start_codon={row.start_codon}"
        lines.append(
            "\t".join(
                [
                    row.id,
                    "seqhealth",
                    "CDS",
                    str(row.start),
                    str(row.end),
                    f"{row.score:.2f}",
                    row.strand,
                    "0",
                    attributes,
                ]
            )
        )
    return "\n".join(lines) + "\n"
