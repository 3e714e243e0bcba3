"""Deterministic synthetic DNA in real file formats, for demos, tests and CI without downloads.

* ``write_coding_demo``: ``demo_genomes.gbk``, GenBank records with CDS features on both strands, some spliced
  (``join`` with GT..AG introns). Coding sequence is drawn from a skewed codon-usage table, so it has
  the 3-base periodicity real genes have; intergenic DNA and introns are AT-rich i.i.d. bases. A
  per-base BiLSTM can therefore separate coding from non-coding well above chance.
* ``write_classify_demo``: ``sequences.fasta`` + ``labels.tsv``, three classes of variable-length sequences whose
  composition and motifs differ. Soft-masking, a few N and ambiguity codes exercise the repair rules
  (GenBank output is always lower-cased by Biopython, so soft-masking only makes sense in FASTA).
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import CompoundLocation, SeqFeature, SimpleLocation
from Bio.SeqRecord import SeqRecord

BASES = np.array(list("ACGT"))
STOP_CODONS = ("TAA", "TAG", "TGA")
SENSE_CODONS = ["".join(c) for c in product("ACGT", repeat=3) if "".join(c) not in STOP_CODONS]
INTERGENIC_COMPOSITION = [0.34, 0.16, 0.16, 0.34]
INTRON_COMPOSITION = [0.36, 0.14, 0.14, 0.36]
RECORD_LENGTHS = (22_000, 26_000, 28_000, 24_000, 30_000, 21_000)  # ~150 kb in all
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
# (id, sequence): an RNA base and a pasted line number, both quarantined with their position.
BAD_CLASSIFY_RECORDS = (
    ("demo_bad_rna", "ACGGCGCGAUGCGCCGCGGCAUAUCGCGCGGCCGCGAUCGCGGCGCC" * 8),
    ("demo_bad_digits", "TATAAAAGGCGCTATAAT" * 10 + "120" + "TTGACATATAAT" * 10),
)


def _random_bases(rng: np.random.Generator, n: int, composition) -> str:
    return "".join(BASES[rng.choice(4, size=n, p=composition)])


def _reverse_complement(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def _coding_sequence(rng, codon_probs: np.ndarray, n_codons: int) -> str:
    body = rng.choice(len(SENSE_CODONS), size=n_codons, p=codon_probs)
    stop = STOP_CODONS[int(rng.integers(3))]
    return "ATG" + "".join(SENSE_CODONS[i] for i in body) + stop


def _gene_block(rng, codon_probs) -> tuple[str, list[tuple[int, int]], str]:
    """(gene DNA on its own strand, exon intervals relative to the block, protein)."""
    cds = _coding_sequence(rng, codon_probs, int(rng.integers(80, 450)))
    n_exons = 1 if rng.random() < 0.75 else int(rng.integers(2, 4))
    cuts = sorted(rng.choice(np.arange(30, len(cds) - 30), size=n_exons - 1, replace=False))
    pieces = [cds[a:b] for a, b in zip([0, *cuts], [*cuts, len(cds)])]
    block, exons = "", []
    for k, piece in enumerate(pieces):
        if k:  # canonical GT...AG intron between exons
            block += (
                "GT" + _random_bases(rng, int(rng.integers(60, 250)), INTRON_COMPOSITION) + "AG"
            )
        exons.append((len(block), len(block) + len(piece)))
        block += piece
    protein = str(Seq(cds).translate(to_stop=True))
    return block, exons, protein


def _genome_record(rng, codon_probs, name: str, target_length: int) -> SeqRecord:
    sequence_parts, features, position, gene_number = [], [], 0, 0
    while position < target_length - 2_000:
        gap = _random_bases(rng, int(rng.integers(40, 320)), INTERGENIC_COMPOSITION)
        if rng.random() < 0.05:  # an assembly gap of Ns now and then
            gap = gap[:20] + "N" * int(rng.integers(5, 25)) + gap[20:]
        sequence_parts.append(gap)
        position += len(gap)
        block, exons, protein = _gene_block(rng, codon_probs)
        strand = 1 if rng.random() < 0.5 else -1
        if strand == -1:
            block = _reverse_complement(block)
            exons = [(len(block) - end, len(block) - start) for start, end in exons]
        parts = [SimpleLocation(position + s, position + e, strand=strand) for s, e in exons]
        gene_number += 1
        features.append(
            SeqFeature(
                parts[0] if len(parts) == 1 else CompoundLocation(parts),
                type="CDS",
                qualifiers={
                    "locus_tag": [f"{name}_{gene_number:04d}"],
                    "codon_start": ["1"],
                    "product": ["demo protein"],
                    "translation": [protein],
                },
            )
        )
        sequence_parts.append(block)
        position += len(block)
    sequence_parts.append(_random_bases(rng, 150, INTERGENIC_COMPOSITION))
    sequence = "".join(sequence_parts)
    source = SeqFeature(
        SimpleLocation(0, len(sequence), strand=1),
        type="source",
        qualifiers={"organism": ["synthetic construct"], "mol_type": ["genomic DNA"]},
    )
    return SeqRecord(
        Seq(sequence),
        id=f"{name}.1",
        name=name,
        description=f"seqhealth demo genome {name}, synthetic",
        features=[source, *features],
        annotations={
            "molecule_type": "DNA",
            "topology": "linear",
            "date": "01-JAN-2024",
            "data_file_division": "SYN",
        },
    )


def _classify_sequence(rng, label: str) -> str:
    length = int(rng.integers(300, 1501))
    if label == "gc_island":
        seq = list(_random_bases(rng, length, [0.2, 0.3, 0.3, 0.2]))
        motifs = ["CGCG", "GCGC", "CCGCGG"]
    elif label == "promoter_like":
        seq = list(_random_bases(rng, length, [0.3, 0.2, 0.2, 0.3]))
        motifs = ["TATAAT", "TTGACA", "TATAAA"]
    else:  # tandem_repeat
        seq = list(_random_bases(rng, length, [0.25, 0.25, 0.25, 0.25]))
        unit = ["CAG", "AT", "GGAA", "CA"][int(rng.integers(4))]
        motifs = [unit * int(rng.integers(6, 14))]
    for _ in range(max(2, length // 150)):
        motif = motifs[int(rng.integers(len(motifs)))]
        at = int(rng.integers(0, length - len(motif)))
        seq[at : at + len(motif)] = list(motif)
    return "".join(seq)


def _decorate(rng, sequence: str) -> str:
    """Soft-mask a stretch, sprinkle N / ambiguity codes in a few records (repair rules)."""
    chars = list(sequence)
    if rng.random() < 0.12:
        start = int(rng.integers(0, len(chars) - 80))
        stop = start + int(rng.integers(20, 80))
        chars[start:stop] = [c.lower() for c in chars[start:stop]]
    if rng.random() < 0.06:
        for at in rng.integers(0, len(chars), size=int(rng.integers(1, 4))):
            chars[int(at)] = "N"
    if rng.random() < 0.03:
        chars[int(rng.integers(0, len(chars)))] = "RYSWKM"[int(rng.integers(6))]
    return "".join(chars)


def write_coding_demo(coding_dir: Path, seed: int = 0) -> Path:
    """GenBank demo genomes with CDS features: ``coding_dir/demo_genomes.gbk``."""
    coding_dir = Path(coding_dir)
    rng = np.random.default_rng(seed)
    # A strongly skewed codon usage (as in real genomes) gives coding DNA its periodic signature.
    codon_probs = rng.dirichlet(np.full(len(SENSE_CODONS), 0.3))
    coding_dir.mkdir(parents=True, exist_ok=True)
    records = [
        _genome_record(rng, codon_probs, f"DEMOG{k + 1:02d}", length)
        for k, length in enumerate(RECORD_LENGTHS)
    ]
    genbank_path = coding_dir / "demo_genomes.gbk"
    with genbank_path.open("w", newline="\n") as handle:
        SeqIO.write(records, handle, "genbank")
    return genbank_path


def write_classify_demo(classify_dir: Path, seed: int = 0, n_classify: int = 300) -> dict[str, Path]:
    """Labelled demo sequences: ``classify_dir/sequences.fasta`` + ``labels.tsv``."""
    classify_dir = Path(classify_dir)
    rng = np.random.default_rng(seed + 1)
    classify_dir.mkdir(parents=True, exist_ok=True)
    classes = ("gc_island", "promoter_like", "tandem_repeat")
    labels = [classes[i % 3] for i in rng.permutation(n_classify)]
    fasta_records, label_rows = [], []
    for number, label in enumerate(labels, start=1):
        sequence = _decorate(rng, _classify_sequence(rng, label))
        if number % 3 == 1:  # NCBI-style id: the labels table uses the accession field only
            accession = f"DEMO{number:04d}.1"
            record_id = f"gi|{1000 + number}|emb|{accession}|"
        else:
            accession = record_id = f"demo_seq_{number:04d}"
        fasta_records.append(
            SeqRecord(Seq(sequence), id=record_id, description=f"demo sequence {number}")
        )
        label_rows.append({"id": accession, "label": label})
    # Bad records, so a first run shows the quarantine at work (reason and position in
    # data/08_reporting/dna_classify/quarantine.csv); written after the random draws, so the
    # good records are the same bytes as without them.
    # No label rows for them: label_report.json would list them as labels without a sequence.
    for record_id, sequence in BAD_CLASSIFY_RECORDS:
        fasta_records.append(SeqRecord(Seq(sequence), id=record_id, description="demo bad record"))
    fasta_path = classify_dir / "sequences.fasta"
    with fasta_path.open("w", newline="\n") as handle:
        SeqIO.write(fasta_records, handle, "fasta")
    labels_path = classify_dir / "labels.tsv"
    pd.DataFrame(label_rows, columns=["id", "label"]).to_csv(
        labels_path, sep="\t", index=False, lineterminator="\n"
    )
    return {"fasta": fasta_path, "labels": labels_path}
