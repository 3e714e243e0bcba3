import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seqhealth.genomics.labels import coding_track, match_labels
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from tests.helpers.demo import write_demo_dna


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, write_demo_dna(out, seed=0)


def _digests(paths):
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(demo, tmp_path):
    _, paths = demo
    again = write_demo_dna(tmp_path / "again", seed=0)
    other = write_demo_dna(tmp_path / "other", seed=1)
    assert _digests(paths) == _digests(again)
    assert _digests(paths)["genbank"] != _digests(other)["genbank"]
    assert (
        paths["genbank"].name == "demo_genomes.gbk" and paths["genbank"].parent.name == "dna_coding"
    )


def _linear_model():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _kmer_counts(tokens: np.ndarray, k: int = 3) -> np.ndarray:
    """Normalised k-mer histogram over the ACGT tokens (N-containing k-mers skipped)."""
    index = np.zeros(len(tokens) - k + 1, dtype=np.int64)
    valid = np.ones(len(index), dtype=bool)
    for offset in range(k):
        window = tokens[offset : offset + len(index)].astype(np.int64)
        valid &= (window >= 1) & (window <= 4)
        index = index * 4 + (window - 1)
    counts = np.bincount(index[valid], minlength=4**k).astype(float)
    return counts / max(counts.sum(), 1.0)


def test_genbank_demo_has_spliced_genes_on_both_strands_and_learnable_coding(demo):
    out, _ = demo
    clean, quarantine, report = validate_dna_records(read_sequence_records(out / "dna_coding"))
    assert len(quarantine) == 0 and report["records_in"] == 6
    assert 120_000 <= clean["length"].sum() <= 180_000
    all_parts = [parts for cds in clean["cds_parts"] for parts in cds]
    assert any(len(p) > 1 and p[0][2] == 1 for p in all_parts)
    assert any(len(p) > 1 and p[0][2] == -1 for p in all_parts)
    features, targets = [], []
    for row in clean.itertuples():
        track = coding_track(row.length, row.cds_parts)
        assert 0.6 <= track.mean() <= 0.85
        for start in range(0, row.length - 150, 150):
            features.append(_kmer_counts(row.tokens[start : start + 150]))
            targets.append(int(track[start : start + 150].mean() > 0.5))
    # A linear model on 3-mer counts of 150-bp windows must beat the majority class clearly.
    accuracy = cross_val_score(_linear_model(), np.array(features), targets, cv=3)
    majority = max(np.mean(targets), 1 - np.mean(targets))
    assert accuracy.mean() > majority + 0.1


def test_classify_demo_labels_all_match_and_classes_are_learnable(demo):
    out, paths = demo
    clean, quarantine, report = validate_dna_records(read_sequence_records(out / "dna_classify"))
    # the demo's deliberate bad records (genomics.demo.BAD_CLASSIFY_RECORDS), each with its position
    assert quarantine[["record_id", "reason"]].values.tolist() == [
        ["demo_bad_rna", "invalid character 'U' at position 9 (0-based) (RNA base U is not DNA)"],
        ["demo_bad_digits", "invalid character '1' at position 180 (0-based)"],
    ]
    assert len(clean) == 300 and report["records_in"] == 302
    assert report["n_softmasked_uppercased"] > 0 and report["n_ambiguous_bases"] > 0
    assert clean["length"].between(300, 1500).all()
    table = pd.read_csv(paths["labels"], sep="\t")
    assert list(table.columns) == ["id", "label"]
    labelled, unmatched = match_labels(clean, table)
    assert len(labelled) == 300 and not any(unmatched.values())
    assert labelled["record_id"].str.startswith("gi|").sum() == 100
    assert sorted(labelled["label"].value_counts().tolist()) == [100, 100, 100]
    features = np.array([_kmer_counts(t, k=2) for t in labelled["tokens"]])
    accuracy = cross_val_score(_linear_model(), features, labelled["label"], cv=3)
    assert accuracy.mean() > 0.8  # chance is 1/3
