"""Readers for the labelled development samples under ``/work/shared/data`` (see their READMEs).

Each returns ``(samples, class_names, groups)``: the project's sample dicts
``{"x": uint8 tokens, "y": int, "length": int}``, the sorted class names (``y`` indexes them) and
one group id per sample for grouped cross-validation (splice: the GenBank locus, because one
locus contributes several windows; otherwise the sample itself).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.labels import candidate_ids
from seqhealth.genomics.readers import fasta_records

SHARED_DATA = Path("/work/shared/data")


def _samples(sequences: list[str], labels: list[str]) -> tuple[list[dict], list[str]]:
    class_names = sorted(set(labels))
    index = {name: i for i, name in enumerate(class_names)}
    samples = [{"x": encode(seq), "y": index[label], "length": len(seq)} for seq, label in zip(sequences, labels)]
    return samples, class_names


def _comma_rows(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            rows.append([field.strip() for field in line.split(",")])
    return rows


def splice_junctions(root: Path = SHARED_DATA) -> tuple[list[dict], list[str], list[str]]:
    """UCI splice junctions (EI / IE / N, 60 bp); groups are GenBank loci."""
    rows = _comma_rows(Path(root) / "uci_splice_junctions" / "splice.data")
    samples, names = _samples([r[2] for r in rows], [r[0] for r in rows])
    return samples, names, [r[1].split("-", 1)[0] for r in rows]


def promoters(root: Path = SHARED_DATA) -> tuple[list[dict], list[str], list[str]]:
    """UCI E. coli promoters (``+`` / ``-``, 57 bp)."""
    rows = _comma_rows(Path(root) / "uci_promoters" / "promoters.data")
    samples, names = _samples([r[2] for r in rows], ["promoter" if r[0] == "+" else "non-promoter" for r in rows])
    return samples, names, [r[1] for r in rows]


def ls_orchid(root: Path = SHARED_DATA) -> tuple[list[dict], list[str], list[str]]:
    """Biopython ls_orchid ITS sequences, labelled by genus (574-774 bp)."""
    folder = Path(root) / "ls_orchid"
    genus = pd.read_csv(folder / "labels.tsv", sep="\t").set_index("accession")["genus"].to_dict()
    sequences, labels, ids = [], [], []
    for header, sequence in fasta_records((folder / "ls_orchid.fasta").read_bytes()):
        record_id, _, description = header.partition(" ")
        match = [c for c in candidate_ids(record_id, description) if c in genus]
        if match:
            sequences.append(sequence)
            labels.append(genus[match[0]])
            ids.append(match[0])
    samples, names = _samples(sequences, labels)
    return samples, names, ids


BENCHMARKS = {"splice": splice_junctions, "orchid": ls_orchid, "promoters": promoters}
