"""Issue 21 point 4: streamed DNA ingest and lazily cut ``dna_coding`` windows give exactly what the
whole-folder path gave (same records, quarantine rows and report; same windows, tokens/features
and labels, byte for byte), on the demo genomes, a folder with bad records and the shared E. coli
slice."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from seqhealth.batching.dataset import SequenceDataset
from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.genomics.labels import coding_track, frame_track
from seqhealth.genomics.orf import coding_features, stop_index, window_features
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.streaming import SequenceSource, validate_dna_stream
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.genomics.windows import cut_windows
from seqhealth.splits import genomic_blocks, split_groups
from seqhealth.tasks.dna_coding import TASK

from .conftest import genbank_text

PARAMS = {"window": 200, "overlap": 20, "orf_features": True, "frame_labels": True, "block_size": 10000,
          "split": {"train": 0.7, "val": 0.15, "test": 0.15}, "seed": 42}  # fmt: skip


def eager_windows(records: pd.DataFrame, params: dict) -> dict[str, list[dict]]:
    """The windows as ``build_model_input`` cut them before issue 21: whole-record features and
    labels, each window a slice, every sample held in a list."""
    window, overlap = int(params["window"]), int(params["overlap"])
    track = frame_track if params.get("frame_labels") else coding_track
    tokens = {r: coding_features(t) if params.get("orf_features") else t for r, t in zip(records["record_id"], records["tokens"])}
    labels = {r: track(int(n), c) for r, n, c in zip(records["record_id"], records["length"], records["cds_parts"])}
    blocks = genomic_blocks(dict(zip(records["record_id"], records["length"].astype(int))), int(params["block_size"]))
    assignment = split_groups(list(range(len(blocks))), params.get("split"), seed=int(params.get("seed", 0)),
                              strata={i: block[0] for i, block in enumerate(blocks)})  # fmt: skip
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for i, (record_id, start, end) in enumerate(blocks):
        for a, b in cut_windows(end - start, window, overlap):
            a, b = start + a, start + b
            splits[assignment[i]].append({"x": tokens[record_id][a:b], "y": labels[record_id][a:b], "length": b - a})
    return splits


def assert_same_windows(lazy: dict, eager: dict) -> None:
    for part, samples in eager.items():
        assert len(lazy[part]) == len(samples) and list(lazy[part].lengths) == [s["length"] for s in samples]
        for new, old in zip(lazy[part], samples):
            assert new["length"] == old["length"]
            for key in ("x", "y"):
                assert new[key].dtype == old[key].dtype and new[key].shape == old[key].shape
                assert new[key].tobytes() == old[key].tobytes()
        # Random access (what the training DataLoader does) and slices (stitching) cut the same.
        for i in {0, len(samples) // 2, len(samples) - 1} if samples else ():
            assert lazy[part][i]["x"].tobytes() == samples[i]["x"].tobytes()
            assert lazy[part][i - len(samples)]["y"].tobytes() == samples[i]["y"].tobytes()
        assert [s["x"].tobytes() for s in lazy[part][1:4]] == [s["x"].tobytes() for s in samples[1:4]]
    assert samples_fingerprint(lazy) == samples_fingerprint(eager)


def assert_same_ingest(folder) -> tuple:
    eager = validate_dna_records(read_sequence_records(folder))
    streamed = validate_dna_stream(SequenceSource(folder))
    pd.testing.assert_frame_equal(streamed[0], eager[0].drop(columns=["sequence"]), check_dtype=False)
    pd.testing.assert_frame_equal(streamed[1], eager[1])
    assert streamed[2] == eager[2]
    return streamed


def test_window_features_are_the_whole_record_features_bit_for_bit():
    """ORF lengths reach past window edges (and past record ends, short records included)."""
    rng = np.random.default_rng(0)
    for length in [*range(12), 200, 1001]:
        for alphabet in (4, 5):  # with and without N
            tokens = rng.integers(0, alphabet, size=length).astype(np.uint8)
            full, index = coding_features(tokens), stop_index(tokens)
            for start in range(0, max(length, 1), max(1, length // 9)):
                for end in {start, min(length, start + 1), min(length, start + 200), length}:
                    window = window_features(tokens, index, start, end)
                    assert window.dtype == np.float32 and window.shape == full[start:end].shape
                    assert window.tobytes() == full[start:end].tobytes(), (length, start, end)


@pytest.mark.parametrize("params", [PARAMS, {**PARAMS, "orf_features": False, "frame_labels": False, "window": 150}])
def test_lazy_windows_equal_the_eager_ones_on_the_demo_genomes(tmp_path, params):
    TASK.write_demo(tmp_path, seed=3)
    records, _, _ = assert_same_ingest(tmp_path)
    model_input = TASK.build_model_input(records, params)
    assert_same_windows(model_input["splits"], eager_windows(records, params))
    # The torch items are SequenceDataset's for the same samples (same tensors and dtypes).
    lazy, eager = SequenceDataset(model_input["splits"]["val"]), SequenceDataset(eager_windows(records, params)["val"])
    assert np.array_equal(lazy.lengths, eager.lengths)
    for i in (0, len(eager) - 1):
        assert lazy[i].keys() == eager[i].keys() and lazy[i]["length"] == eager[i]["length"]
        for key in ("x", "y"):
            assert lazy[i][key].dtype == eager[i][key].dtype and torch.equal(lazy[i][key], eager[i][key])


def test_streamed_ingest_quarantines_as_the_whole_folder_path(tmp_path):
    """Invalid base, empty record, duplicate id across files, CDS outside: same rows, same report."""
    (tmp_path / "a.gbk").write_text(genbank_text("ATGAAATAG" * 20, [[(0, 27, 1)]], name="REC1"))
    (tmp_path / "b.gbk").write_text(genbank_text("ATGAAATAG" * 20, [[(0, 27, 1)]], name="REC1"))
    (tmp_path / "c.fa").write_text(">ok1 x\nACGTNRYacgt\n>bad\nACGUT\n>empty\n\n>ok2\nGGGCCC\n")
    (tmp_path / "d.gbk").write_text(genbank_text("ATGAAATAG" * 5, [[(0, 60, 1)]], name="FAR"))
    (tmp_path / "notes.txt").write_text("not a sequence file")
    records, quarantine, report = assert_same_ingest(tmp_path)
    assert list(records["record_id"]) == ["REC1.1", "ok1", "ok2"]
    assert set(quarantine["reason"].str.split(" ").str[0]) == {"duplicate", "invalid", "empty", "CDS"}
    assert report["records_in"] == len(records) + len(quarantine)
    assert records["tokens"].map(lambda t: t.dtype == np.uint8).all()


def test_kedro_stream_dataset_and_the_task_ingest_read_the_same_records(tmp_path):
    from seqhealth.datasets.sequence_files import SequenceFilesDataset

    TASK.write_demo(tmp_path, seed=1)
    source = SequenceFilesDataset(str(tmp_path), stream=True).load()
    assert isinstance(source, SequenceSource)
    streamed, eager = TASK.ingest({"raw_records": source}, {}), TASK.ingest(TASK.read_raw(tmp_path), {})
    pd.testing.assert_frame_equal(streamed["records"], eager["records"].drop(columns=["sequence"]), check_dtype=False)


def test_lazy_windows_equal_the_eager_ones_on_the_shared_ecoli_slice(shared_data, tmp_path):
    genome = shared_data / "genome_cds" / "NC_000913.3_0_300000.gbk"
    if not genome.is_file():
        pytest.skip(f"{genome} not present")
    # Two genomes in a folder (the second under another accession): records do not mix.
    shutil.copy(genome, tmp_path / "a.gbk")
    (tmp_path / "b.gbk").write_text(genome.read_text().replace("NC_000913.3_0_300000", "copy_NC_000913.3_0_300000"))
    records, _, report = assert_same_ingest(tmp_path)
    assert report["records_kept"] == 2
    model_input = TASK.build_model_input(records, PARAMS)
    assert_same_windows(model_input["splits"], eager_windows(records, PARAMS))
    assert model_input["summary"]["n_blocks"] == 60


def test_iterating_windows_in_any_order_cuts_what_indexing_cuts():
    """Runs of windows share one feature pass only while they cover one stretch of one record."""
    from seqhealth.genomics.window_samples import WindowSamples

    rng = np.random.default_rng(1)
    records = []
    for length in (700, 450):
        tokens = rng.integers(0, 5, size=length).astype(np.uint8)
        records.append({"tokens": tokens, "labels": (tokens % 2).astype(np.uint8), "orf_index": stop_index(tokens)})
    windows = [(r, s, n) for r in (0, 1) for s, n in ((0, 100), (90, 100), (400, 50), (5, 20))]
    samples = WindowSamples(records, np.asarray([windows[i] for i in rng.permutation(len(windows))]), orf_features=True)
    for i, sample in enumerate(samples):
        r, s, n = samples.windows[i]
        assert sample["x"].tobytes() == coding_features(records[r]["tokens"])[s : s + n].tobytes()
        assert sample["x"].tobytes() == samples[i]["x"].tobytes() and sample["y"].tobytes() == samples[i]["y"].tobytes()
    assert list(samples.lengths) == [n for _, _, n in samples.windows]
