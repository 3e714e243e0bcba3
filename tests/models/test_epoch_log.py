"""Off a terminal (log file, CI, Airflow, cron) training prints one plain line per epoch."""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import torch

from seqhealth.batching.datamodule import SequenceDataModule
from seqhealth.models.module import SequenceModel
from seqhealth.models.training import EpochLogLine, build_trainer, progress_bar_usable


def _samples(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(5, 20))
        x = rng.integers(1, 5, size=length)
        out.append({"x": x, "y": int((x == 3).mean() > 0.25), "length": length})
    return out


LINE = re.compile(r"^epoch (\d)/3 \| train_loss \d\.\d{4} \| val_loss \d\.\d{4} \| val_auroc \d\.\d{4} "
                  r"\(monitor; best \d\.\d{4}(, new best)?\) \| \d+\.\d s$")


def test_a_fit_without_a_terminal_logs_each_epoch_with_losses_monitor_and_time(tmp_path, caplog):
    assert not progress_bar_usable(io.StringIO())  # what a log file or a pipe looks like
    dm = SequenceDataModule(_samples(48, 0), _samples(16, 1), batch_size=16, seed=0)
    model = SequenceModel(task_kind="sequence", n_classes=1, hidden_size=8, num_layers=1, embedding_dim=4, lr=0.02)
    # enable_progress_bar: true as in parameters_train.yml; under pytest stderr is not a terminal
    trainer = build_trainer({"max_epochs": 3, "accelerator": "cpu", "devices": 1, "early_stopping_patience": 0,
                             "monitor": "val_auroc", "monitor_mode": "max", "enable_progress_bar": True},
                            default_root_dir=tmp_path)
    assert trainer.progress_bar_callback is None
    with caplog.at_level(logging.INFO, logger="seqhealth.models.training"):
        trainer.fit(model, datamodule=dm)
    lines = [r.getMessage() for r in caplog.records if r.name == "seqhealth.models.training"]
    assert len(lines) == 3, lines
    assert all(LINE.match(line) for line in lines), lines
    assert [int(LINE.match(line).group(1)) for line in lines] == [1, 2, 3]
    assert "new best" in lines[0]
    # the last line's losses are the values Lightning holds at the end of the fit
    last = dict(part.split(" ", 1) for part in lines[-1].split(" | ")[1:3])
    assert float(last["val_loss"]) == round(float(trainer.callback_metrics["val_loss"]), 4)


def test_the_monitor_keeps_the_best_value_in_its_direction():
    class Fake:
        current_epoch, max_epochs = 0, 5

    callback = EpochLogLine("val_loss", "min")
    fake = Fake()
    for value in (0.9, 0.7, 0.8):
        fake.callback_metrics = {"val_loss": torch.tensor(value)}
        line = callback.format_line(fake)
    assert "val_loss 0.8000 (monitor; best 0.7000)" in line and "new best" not in line
