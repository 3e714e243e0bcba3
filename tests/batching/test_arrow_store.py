"""The on-disk model input (Arrow IPC store, read memory-mapped): same items, same training, DDP
shards and flat memory as the in-memory ``SequenceDataset``."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pyarrow as pa
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from seqhealth.batching import ArrowSequenceDataset, SequenceDataset, write_arrow_store
from seqhealth.batching.datamodule import SequenceDataModule
from seqhealth.engine.fit import fit_sequence_model, train_model
from tests.conftest import tiny_tagging_model_input

MODEL = {"cell": "gru", "hidden_size": 8, "num_layers": 1, "embedding_dim": 0}


def _token_samples(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        length = int(rng.integers(3, 40))
        sample = {"x": rng.integers(1, 5, size=length).astype(np.uint8), "y": int(rng.integers(0, 2)), "length": length}
        if i % 3:
            sample["weight"] = float(rng.uniform(0.5, 2.0))
        out.append(sample)
    return out


def _feature_samples(n: int, seed: int = 1, targets: int = 0) -> list[dict]:
    """``[T, F]`` float64 features with per-step labels (``[T]``, or ``[T, K]`` values)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(1, 30))
        y = rng.normal(size=(length, targets)) if targets else (rng.random(length) > 0.5).astype(np.int32)
        out.append({"x": rng.normal(size=(length, 5)), "y": y, "length": length})
    return out


@pytest.mark.parametrize("samples", [_token_samples(40), _feature_samples(40), _feature_samples(25, targets=2)],
                         ids=["tokens", "features", "forecast"])
def test_items_equal_the_in_memory_dataset(tmp_path, samples):
    # Small record batches so items come from several batches of the file.
    path = write_arrow_store(iter(samples), tmp_path / "split.arrow", batch_rows=7)
    stored, memory = ArrowSequenceDataset(path), SequenceDataset(samples)
    assert len(stored) == len(memory)
    np.testing.assert_array_equal(stored.lengths, memory.lengths)
    assert stored.lengths.dtype == memory.lengths.dtype
    for i in range(len(memory)):
        got, want = stored[i], memory[i]
        assert got.keys() == want.keys()
        for key in ("x", "y"):
            assert got[key].dtype == want[key].dtype and got[key].shape == want[key].shape, key
            assert torch.equal(got[key], want[key]), (i, key)
        assert (got["length"], got["index"], got.get("weight")) == (want["length"], want["index"], want.get("weight"))


def test_store_is_a_plain_arrow_file_and_rejects_bad_samples(tmp_path):
    samples = _feature_samples(10)
    path = write_arrow_store(samples, tmp_path / "train.arrow")
    table = pa.ipc.open_file(str(path)).read_all()
    assert table.column_names == ["x", "y", "length", "weight"] and table.num_rows == 10
    np.testing.assert_allclose(np.asarray(table.column("x")[3].as_py()), samples[3]["x"].astype(np.float32))
    bad = [{**samples[0], "length": samples[0]["length"] + 1}]
    with pytest.raises(ValueError, match="sample 0: field 'x'"):
        write_arrow_store(bad, tmp_path / "bad.arrow")
    assert not (tmp_path / "bad.arrow").exists() and not (tmp_path / "bad.arrow.partial").exists()


def _cfg(tmp_path, **extra):
    return {"accelerator": "cpu", "devices": 1, "max_epochs": 3, "seed": 0, "batch_size": 8,
            "checkpoint_dir": str(tmp_path), "monitor": "val_loss", "monitor_mode": "min",
            "enable_progress_bar": False, "early_stopping_patience": 0, **extra}


def _losses(history):
    return [(row["train_loss"], row["val_loss"]) for row in history]


def test_fit_on_the_store_gives_the_in_memory_losses(tmp_path):
    model_input = tiny_tagging_model_input()
    _, memory_history = fit_sequence_model(model_input, MODEL, _cfg(tmp_path / "memory"))
    paths = {name: str(write_arrow_store(samples, tmp_path / "store" / f"{name}.arrow", batch_rows=5))
             for name, samples in model_input["splits"].items()}
    _, store_history = fit_sequence_model({**model_input, "splits": paths}, MODEL, _cfg(tmp_path / "arrow"))
    assert len(memory_history) == 3
    assert _losses(store_history) == _losses(memory_history)


def test_train_model_with_an_arrow_store_writes_once_and_trains_the_same(tmp_path):
    model_input = tiny_tagging_model_input(seed=1)
    store_dir = tmp_path / "store"
    cfg = _cfg(tmp_path / "ckpt", max_epochs=2, model_input_store="arrow", store_dir=str(store_dir),
               gate={"min_samples": {"train": 1}})
    bundle, history = train_model(model_input, MODEL, cfg)
    files = sorted(p.name for p in store_dir.iterdir())
    assert files == ["test.arrow", "train.arrow", "val.arrow"]
    written = {p: p.stat().st_mtime_ns for p in store_dir.iterdir()}
    again, again_history = train_model(model_input, MODEL, cfg)
    assert {p: p.stat().st_mtime_ns for p in store_dir.iterdir()} == written, "unchanged input was rewritten"
    assert _losses(again_history) == _losses(history)
    _, memory_history = fit_sequence_model(model_input, MODEL, _cfg(tmp_path / "memory", max_epochs=2))
    assert _losses(history) == _losses(memory_history)


def _ddp_worker(rank: int, world: int, path: str, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        # No Trainer attached: the sampler takes rank and world size from torch.distributed.
        # The dataset reaches this process pickled (as its path) and maps the file itself.
        loader = SequenceDataModule(train=ArrowSequenceDataset(path), val=path, batch_size=4, seed=3).train_dataloader()
        epochs = []
        for epoch in range(2):
            loader.batch_sampler.sampler.set_epoch(epoch)
            epochs.append([i for batch in loader for i in batch["index"].tolist()])
        gathered = [None] * world
        dist.all_gather_object(gathered, epochs)
        if rank == 0:
            with open(out, "w") as handle:
                json.dump(gathered, handle)
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or sys.platform == "win32", reason="needs torch.distributed (gloo)")
def test_two_gloo_ranks_read_disjoint_shards_covering_every_sample_once(tmp_path):
    n = 64  # 16 batches of 4: divides over 2 ranks, so no batch is repeated to even them out
    path = str(write_arrow_store(_token_samples(n, seed=5), tmp_path / "train.arrow", batch_rows=10))
    out = tmp_path / "seen.json"
    port = 29500 + os.getpid() % 2000
    mp.spawn(_ddp_worker, args=(2, path, port, str(out)), nprocs=2, join=True)
    per_rank = json.loads(out.read_text())  # [rank][epoch] -> indices
    for epoch in range(2):
        shards = [set(per_rank[rank][epoch]) for rank in range(2)]
        assert shards[0].isdisjoint(shards[1])
        assert sorted(per_rank[0][epoch] + per_rank[1][epoch]) == list(range(n))
    assert per_rank[0][0] != per_rank[0][1], "the second epoch did not reshuffle"


def _rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS from /proc (Linux)")
def test_reading_a_whole_store_keeps_rss_flat(tmp_path):
    # 96 MB of [T, F] float32 features, written a partition at a time (the writer holds one batch).
    rng = np.random.default_rng(0)
    chunk = rng.normal(size=(2000, 64)).astype(np.float32)

    def samples():
        for _ in range(192):
            yield {"x": chunk, "y": 1, "length": 2000}

    path = write_arrow_store(samples(), tmp_path / "big.arrow", batch_rows=16)
    size = path.stat().st_size
    assert size > 90 * 2**20
    dataset = ArrowSequenceDataset(path)
    before = peak = _rss_bytes()
    # Shuffled order, as training reads: served from a memory map this left the whole file resident.
    for i in np.random.default_rng(1).permutation(len(dataset)):
        item = dataset[int(i)]
        peak = max(peak, _rss_bytes())
    assert torch.equal(item["x"], torch.from_numpy(chunk))
    assert peak - before < size / 10, (peak - before, size)


@pytest.mark.slow
def test_torchrun_ranks_train_from_the_store_like_from_the_list(tmp_path):
    """``train.devices=2``: the launch hands the ranks store paths (not samples); both runs are
    2-rank DDP over the same data and seed, so they give the same losses."""
    model_input = tiny_tagging_model_input(seed=2)
    cfg = _cfg(tmp_path / "ckpt_arrow", max_epochs=2, devices=2, strategy="ddp", model_input_store="arrow",
               store_dir=str(tmp_path / "store"))
    bundle, history = train_model(model_input, MODEL, cfg)
    assert bundle["training"]["world_size"] == 2
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["test.arrow", "train.arrow", "val.arrow"]
    _, memory_history = train_model(model_input, MODEL, {**cfg, "model_input_store": "memory",
                                                         "checkpoint_dir": str(tmp_path / "ckpt_memory")})
    assert _losses(history) == _losses(memory_history)
