"""Training entry points on real (tiny) Lightning fits: warm start and per-epoch history."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqhealth.engine.fit import fit_sequence_model, model_hparams
from seqhealth.tasks.dna_classify import AUTO_WIDE_KMER_SIZE, data_hparams
from tests.conftest import tiny_tagging_model_input

MODEL = {"cell": "gru", "hidden_size": 8, "num_layers": 1, "embedding_dim": 0}


def _train_cfg(tmp_path, **extra):
    return {"accelerator": "cpu", "devices": 1, "max_epochs": 2, "seed": 0, "batch_size": 8,
            "checkpoint_dir": str(tmp_path), "monitor": "val_loss", "monitor_mode": "min",
            "enable_progress_bar": False, **extra}


def test_history_rows_hold_their_own_epochs_metrics(tmp_path):
    bundle, history = fit_sequence_model(tiny_tagging_model_input(), MODEL, _train_cfg(tmp_path, max_epochs=3))
    assert [row["epoch"] for row in history] == [0, 1, 2]
    # every epoch, including the first, has its own validation and training metrics
    assert all({"val_loss", "val_auroc", "train_loss"} <= set(row) for row in history)
    assert len({row["val_loss"] for row in history}) == 3


def test_warm_start_begins_from_the_given_weights(tmp_path):
    model_input = tiny_tagging_model_input()
    first, _ = fit_sequence_model(model_input, MODEL, _train_cfg(tmp_path / "a", max_epochs=3))
    # lr=0: nothing moves, so the result must be exactly the initial weights
    frozen = {**MODEL, "lr": 0.0, "lr_schedule": "none"}
    warm, _ = fit_sequence_model(model_input, frozen, _train_cfg(tmp_path / "b", _init_state_dict=first["state_dict"]))
    cold, _ = fit_sequence_model(model_input, frozen, _train_cfg(tmp_path / "c"))
    for key, value in first["state_dict"].items():
        assert torch.equal(warm["state_dict"][key], value), key
    assert any(not torch.equal(cold["state_dict"][k], v) for k, v in first["state_dict"].items())


def test_auto_model_params_take_the_tasks_data_choice_and_name_what_is_missing():
    model_input = {**tiny_tagging_model_input(), "data_hparams": {"sequence_length": 0, "auto": {"hidden_size": 12}}}
    hparams = model_hparams(model_input, {**MODEL, "hidden_size": "auto"})
    assert hparams["hidden_size"] == 12 and "auto" not in hparams
    with pytest.raises(ValueError, match=r"model.num_layers=auto.*chooses: \['hidden_size'\]"):
        model_hparams(model_input, {**MODEL, "num_layers": "auto"})


def test_dna_classify_chooses_the_wide_kmer_profile_from_training_data():
    rng = np.random.default_rng(0)

    def sample(length, y):
        tokens = rng.integers(1, 5, length).astype(np.uint8)
        tokens[10] = 1 + 3 * y  # the class is the base at position 10: A or T
        return {"x": tokens, "y": y, "length": length}

    # Sequences of varied length: positions mean nothing, the profile is the wide feature.
    varied = {"train": [sample(40 + i, i % 2) for i in range(20)], "val": [sample(30, 0), sample(31, 1)], "test": []}
    assert data_hparams(varied, 2) == {"sequence_length": 0, "auto": {"wide_kmer_size": AUTO_WIDE_KMER_SIZE}}
    # Aligned windows whose class is one position: the profile adds nothing to the positions.
    aligned = {"train": [sample(30, i % 2) for i in range(40)], "val": [sample(30, i % 2) for i in range(10)],
               "test": [sample(30, 0)]}
    assert data_hparams(aligned, 2) == {"sequence_length": 30, "auto": {"wide_kmer_size": 0}}
