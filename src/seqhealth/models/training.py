"""Build a device-agnostic Lightning Trainer from the shared ``train`` parameter group."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
)

log = logging.getLogger(__name__)

LATEST_CHECKPOINT = "latest"  # checkpoints/latest.ckpt: the end of the most recent epoch

TRAIN_DEFAULTS = {
    "accelerator": "auto",
    "devices": "auto",
    "strategy": "auto",
    "num_nodes": 1,
    "precision": "32",
    "max_epochs": 20,
    "seed": 0,
    "gradient_clip_val": 1.0,
    "early_stopping_patience": 5,
    "monitor": "val_loss",
    "monitor_mode": "min",
    "enable_progress_bar": False,
    # Intra-op threads while fitting (None: torch's default, one per core). Small recurrent
    # models run thousands of tiny ops per batch; split over threads, each op waits for the
    # slowest thread, and on a machine shared with other jobs a descheduled thread stalls every
    # op (issue 18: an epoch 24x the CPU time with 2 threads on 2 busy cores, see README).
    "intra_op_threads": None,
}


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """``torch.set_num_threads(threads)`` inside the block, the previous count restored after;
    ``None``/0 leaves torch's own."""
    if not threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class IntraOpThreads(Callback):
    """``torch.set_num_threads(n)`` for the duration of a fit, the previous count restored after
    (later stages of the same process, e.g. another task's training, keep their own)."""

    def __init__(self, threads: int) -> None:
        self.threads, self._previous = int(threads), None

    def setup(self, trainer, pl_module, stage: str) -> None:
        self._previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        if self._previous is not None:
            torch.set_num_threads(self._previous)


def progress_bar_usable(stream=None) -> bool:
    """A progress bar only on a terminal: in a log file, CI, Airflow or cron its carriage
    returns are one endless line (or nothing at all until the end)."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


class EpochLogLine(Callback):
    """One plain log line per epoch when no progress bar is shown, e.g.
    ``epoch 3/10 | train_loss 0.4123 | val_loss 0.3900 | val_auroc 0.8123 (monitor; best 0.8200) | 4.1 s``.

    A Lightning callback (not a progress-bar subclass) so that it works with the bar switched off;
    rank 0 only. ``on_train_epoch_end`` runs after the epoch's validation loop, so the val metrics
    of the epoch are in ``callback_metrics`` (the module logs them in ``on_validation_epoch_end``).
    """

    def __init__(self, monitor: str, mode: str = "min"):
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self._started = time.monotonic()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.monotonic()

    def format_line(self, trainer: pl.Trainer) -> str:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith(("train_", "val_")) and getattr(v, "numel", lambda: 1)() == 1}
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        for name in ("train_loss", "val_loss"):
            if name in metrics:
                parts.append(f"{name} {metrics[name]:.4f}")
        value = metrics.get(self.monitor)
        if value is not None:
            better = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
            self.best = value if better else self.best
            if self.monitor != "val_loss":
                parts.append(f"{self.monitor} {value:.4f}")
            parts[-1] += f" (monitor; best {self.best:.4f}{', new best' if better else ''})"
        parts.append(f"{time.monotonic() - self._started:.1f} s")
        return " | ".join(parts)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking:
            log.info(self.format_line(trainer))


def _precision(value) -> str:
    text = str(value)
    return "32-true" if text in ("32", "32-true") else text


def build_trainer(train_cfg: dict, callbacks: list | None = None, logger=None,
                  default_root_dir: str | Path = "data/06_models/lightning") -> pl.Trainer:
    """A Trainer with early stopping, best+last checkpoints and (with a logger) LR monitoring.

    Keys read (others ignored): see ``TRAIN_DEFAULTS``.
    ``use_distributed_sampler=False`` because ``SequenceDataModule`` shards its own batches.
    Also seeds everything and turns on flush-to-zero for denormals (8x faster LSTMs on CPU).
    """
    # The shared ``train`` group also holds keys for the data module and the model
    # (batch_size, lr, ...): only the Trainer's keys are read here.
    cfg = {**TRAIN_DEFAULTS, **{k: v for k, v in train_cfg.items() if k in TRAIN_DEFAULTS}}
    if cfg["monitor_mode"] not in ("min", "max"):
        raise ValueError(f"train.monitor_mode must be 'min' or 'max', got {cfg['monitor_mode']!r}")
    torch.set_flush_denormal(True)
    pl.seed_everything(int(cfg["seed"]), workers=True, verbose=False)
    all_callbacks = list(callbacks or [])
    progress_bar = bool(cfg["enable_progress_bar"]) and progress_bar_usable()
    if not progress_bar:
        all_callbacks.append(EpochLogLine(cfg["monitor"], cfg["monitor_mode"]))
    # The best epoch (monitored) and the latest epoch: Lightning 2.6 refreshes `last.ckpt` only
    # when a top-k checkpoint is saved, so resuming after a kill needs its own every-epoch file.
    all_callbacks.append(ModelCheckpoint(monitor=cfg["monitor"], mode=cfg["monitor_mode"],
                                         save_top_k=1, save_last=False))
    all_callbacks.append(ModelCheckpoint(filename=LATEST_CHECKPOINT, monitor=None, save_top_k=1,
                                         every_n_epochs=1, enable_version_counter=False))
    if cfg["early_stopping_patience"]:
        all_callbacks.append(EarlyStopping(monitor=cfg["monitor"], mode=cfg["monitor_mode"],
                                           patience=int(cfg["early_stopping_patience"])))
    if logger is not None:
        all_callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    if cfg["intra_op_threads"]:
        all_callbacks.append(IntraOpThreads(int(cfg["intra_op_threads"])))
    return pl.Trainer(
        accelerator=cfg["accelerator"],
        devices=cfg["devices"],
        strategy=cfg["strategy"],
        num_nodes=int(cfg["num_nodes"]),
        precision=_precision(cfg["precision"]),
        max_epochs=int(cfg["max_epochs"]),
        gradient_clip_val=cfg["gradient_clip_val"],
        callbacks=all_callbacks,
        logger=logger if logger is not None else False,
        default_root_dir=str(default_root_dir),
        use_distributed_sampler=False,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        # no_grad instead of inference_mode: torchmetrics states reset inside inference mode
        # become inference tensors, and a later fit then fails updating them in place
        # (e.g. trainer.validate(...) before trainer.fit(...)).
        inference_mode=False,
    )
