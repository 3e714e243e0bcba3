"""Build a device-agnostic Lightning Trainer from the shared ``train`` parameter group."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

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
}


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
        enable_progress_bar=bool(cfg["enable_progress_bar"]),
        enable_model_summary=False,
        # no_grad instead of inference_mode: torchmetrics states reset inside inference mode
        # become inference tensors, and a later fit then fails updating them in place
        # (e.g. trainer.validate(...) before trainer.fit(...)).
        inference_mode=False,
    )
