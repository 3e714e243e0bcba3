"""``train.intra_op_threads``: the thread count holds while a fit runs and is restored after."""

from __future__ import annotations

import torch

from seqhealth.models.training import IntraOpThreads, build_trainer


def test_intra_op_threads_hold_during_the_fit_and_are_restored_after(tmp_path):
    before = torch.get_num_threads()
    callback = IntraOpThreads(1)
    callback.setup(None, None, "fit")
    assert torch.get_num_threads() == 1
    callback.teardown(None, None, "fit")
    assert torch.get_num_threads() == before


def test_the_trainer_gets_the_callback_only_when_asked(tmp_path):
    asked = build_trainer({"intra_op_threads": 1}, default_root_dir=tmp_path)
    default = build_trainer({}, default_root_dir=tmp_path)
    assert any(isinstance(c, IntraOpThreads) for c in asked.callbacks)
    assert not any(isinstance(c, IntraOpThreads) for c in default.callbacks)
