from types import SimpleNamespace

import numpy as np

from seqhealth.batching.datamodule import SequenceDataModule


def _samples(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(3, 40))
        out.append({"x": rng.integers(1, 5, size=length), "y": int(rng.integers(0, 2)),
                    "length": length})
    return out


def test_ddp_ranks_from_trainer_shard_train_and_val():
    train, val = _samples(50), _samples(21, 1)
    seen_train, seen_val, steps = [], [], []
    for rank in (0, 1):
        dm = SequenceDataModule(train, val, batch_size=4, seed=3)
        # Lightning sets this attribute when the module is attached to a Trainer.
        dm.trainer = SimpleNamespace(world_size=2, global_rank=rank)
        loader = dm.train_dataloader()
        steps.append(len(loader))
        seen_train += [i for b in loader for i in b["index"].tolist()]
        seen_val += [i for b in dm.val_dataloader() for i in b["index"].tolist()]
    assert steps[0] == steps[1]
    assert set(seen_train) == set(range(50))
    assert set(seen_val) == set(range(21))


def test_val_is_sorted_by_length_and_predict_keeps_order():
    dm = SequenceDataModule(_samples(10), _samples(9, 1), predict=_samples(7, 2), batch_size=4)
    val_lengths = [n for b in dm.val_dataloader() for n in b["lengths"].tolist()]
    assert val_lengths == sorted(val_lengths)
    order = [i for b in dm.predict_dataloader() for i in b["index"].tolist()]
    assert order == list(range(7))


def test_token_budget_for_training():
    dm = SequenceDataModule(_samples(60), _samples(5, 1), max_tokens=80)
    for batch in dm.train_dataloader():
        assert batch["mask"].numel() <= 80
