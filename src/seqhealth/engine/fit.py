"""Train a ``SequenceModel`` on a task's model input and predict with the result.

The trained model travels as a *bundle*: a plain dict of hyper-parameters, a CPU state dict and
the task's preprocessing (encoding, normalisation statistics fitted on train). A bundle is
picklable, has no reference to a Trainer or device, and is what the catalog, MLflow pyfunc and
batch prediction load.
"""

from __future__ import annotations

import copy
import logging
import shutil
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from seqhealth.batching.arrow_store import default_store_dir, store_fingerprint, write_arrow_store
from seqhealth.batching.collate import pad_collate
from seqhealth.batching.datamodule import SequenceDataModule
from seqhealth.batching.dataset import SequenceDataset
from seqhealth.batching.sampler import BucketBatchSampler
from seqhealth.engine.fingerprint import hash_config
from seqhealth.engine.gate import check_training_gate
from seqhealth.engine.launch import device_count, launch_training, needs_launch, world_size
from seqhealth.models.module import SequenceModel
from seqhealth.models.training import LATEST_CHECKPOINT, TRAIN_DEFAULTS, build_trainer

logger = logging.getLogger(__name__)

# Flush denormals to zero on import, before torch's intra-op thread pool exists: its worker threads
# copy the flag when they are created, and a flag set later (as fit_sequence_model also does) only
# reaches the calling thread. Otherwise with 2+ threads part of every op runs on denormals, which
# grow as weights and gradients shrink over epochs (issue 18: an epoch 6x slower than the first).
torch.set_flush_denormal(True)


def resolve_train_config(shared: dict, override: dict | None = None) -> dict:
    """The shared ``train`` group with a task's own ``<task>.train`` keys on top."""
    config = copy.deepcopy(dict(shared))
    config.update(dict(override or {}))
    return config


def model_hparams(model_input: dict, model_params: dict) -> dict:
    """Hyper-parameters of ``SequenceModel``: the task's shape plus the tunable model params."""
    hparams = {
        "task_kind": model_input["task_kind"],
        "n_classes": model_input["n_classes"],
        "input_kind": model_input["input_kind"],
        "causal": model_input.get("causal", False),
        "pos_weight": model_input.get("pos_weight"),
        "class_weights": model_input.get("class_weights"),
    }
    if model_input["input_kind"] == "tokens":
        hparams["vocab_size"] = int(model_input["input_size"])
    else:
        hparams["input_size"] = int(model_input["input_size"])
    # Shape facts the task's builder measured on the data (e.g. one common sequence length),
    # stored in the bundle's hparams like the rest so prediction rebuilds the same model.
    data = dict(model_input.get("data_hparams") or {})
    chosen = data.pop("auto", None) or {}
    hparams.update(data)
    for key, value in dict(model_params).items():
        if value == "auto":
            # The task's builder chose this setting from the training data (its choices sit
            # under data_hparams["auto"]); the concrete value is what the bundle stores.
            if key not in chosen:
                raise ValueError(f"model.{key}=auto: task {model_input.get('task')!r} chooses no {key} from its "
                                 f"data (it chooses: {sorted(chosen) or 'nothing'}); give a value")
            value = chosen[key]
        hparams[key] = value
    return hparams


class EpochHistory(pl.Callback):
    """Keeps every epoch's train/val metrics in memory (rank 0 reads them back).

    Lightning aggregates epoch-level metrics AFTER the callbacks' ``*_epoch_end`` hooks, so
    validation metrics are read at ``on_validation_end`` and an epoch's training metrics at the
    start of the next epoch (or at the end of fit).
    """

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def _row(self, epoch: int) -> dict:
        if not self.rows or self.rows[-1]["epoch"] != epoch:
            self.rows.append({"epoch": epoch})
        return self.rows[-1]

    def _copy(self, trainer: pl.Trainer, epoch: int, prefix: str) -> None:
        row = self._row(epoch)
        for key, value in trainer.callback_metrics.items():
            if key.startswith(prefix):
                row[key] = float(value)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._copy(trainer, int(trainer.current_epoch), "val_")

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch > 0 and self.rows:
            self._copy(trainer, int(trainer.current_epoch) - 1, "train_")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.rows:
            self._copy(trainer, self.rows[-1]["epoch"], "train_")

    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rows = list(state_dict.get("rows", []))


def checkpoint_dir_for(model_input: dict, hparams: dict, train_cfg: dict) -> Path:
    """Checkpoints live under a key of data fingerprint + configuration, so a rerun of the same
    training finds its own checkpoints and a changed configuration starts fresh."""
    run_key = hash_config(
        {
            "data": model_input["fingerprint"],
            "hparams": hparams,
            # Private keys (``_resume_from``, ``_init_state_dict``) are run mechanics, not config;
            # a warm start still gets its own folder.
            "train": {
                k: v for k, v in train_cfg.items() if k not in ("enable_progress_bar", "num_workers") and not k.startswith("_")
            },
            "warm_start": "_init_state_dict" in train_cfg,
        }
    )[:12]
    return Path(train_cfg.get("checkpoint_dir", "data/06_models/checkpoints")) / model_input["task"] / run_key


COMPLETED_MARKER = "COMPLETED"


def prepare_checkpoints(ckpt_dir: Path, resume: bool = True) -> Path | None:
    """The checkpoint to resume from, or None to start fresh.

    A run that was killed leaves ``latest.ckpt`` without the ``COMPLETED`` marker: resume from it
    (same data fingerprint and configuration, because both are in the folder name). A finished
    run's folder is cleared, so a rerun trains afresh instead of silently doing nothing.
    """
    last = ckpt_dir / "checkpoints" / f"{LATEST_CHECKPOINT}.ckpt"
    if resume and last.exists() and not (ckpt_dir / COMPLETED_MARKER).exists():
        return last
    if ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    return None


def train_model(model_input: dict, model_params: dict, train_cfg: dict, resume: bool = True):
    """The training node's entry: in-process for one device, torchrun ranks for several.

    The training gate (``engine/gate.py``, minimums in ``train_cfg["gate"]``) runs first: data
    that cannot support a model stops here, before a checkpoint folder or a rank exists."""
    if "gate" in train_cfg:
        check_training_gate(model_input, train_cfg["gate"])
    hparams = model_hparams(model_input, model_params)
    ckpt_dir = checkpoint_dir_for(model_input, hparams, train_cfg)
    resume_from = prepare_checkpoints(ckpt_dir, resume)
    if train_cfg.get("model_input_store", "memory") == "arrow":
        # The gate has just read the samples; the fit (and every rank) maps the stored splits.
        model_input, train_cfg = stored_model_input(model_input, train_cfg), {**train_cfg, "_gate_checked": True}
    if needs_launch(train_cfg):
        return launch_training(model_input, model_params, {**train_cfg, "_resume_from": resume_from})
    return fit_sequence_model(model_input, model_params, {**train_cfg, "_resume_from": resume_from})


def stored_model_input(model_input: dict, train_cfg: dict) -> dict:
    """``model_input`` with each split written to an Arrow store and replaced by its path.

    The stores go to ``train.store_dir`` (default ``data/05_model_input/<task>/store``), one
    ``<split>.arrow`` each; torchrun ranks then receive paths and map the same files instead of
    unpickling a copy of every sample each. A store whose recorded data fingerprint matches is
    reused (unchanged model input is not rewritten)."""
    store_dir = Path(train_cfg.get("store_dir") or default_store_dir(model_input["task"])).resolve()
    fingerprint = str(model_input["fingerprint"].get("sha256", ""))
    splits = dict(model_input["splits"])
    for name in ("train", "val", "test"):
        if not splits.get(name) or isinstance(splits[name], str | Path):
            continue  # an empty split has no schema to store; a path is a store already
        path = store_dir / f"{name}.arrow"
        if not fingerprint or store_fingerprint(path) != fingerprint:
            write_arrow_store(splits[name], path, metadata={"fingerprint": fingerprint})
        splits[name] = str(path)
    return {**model_input, "splits": splits}


def _trainer_config(train_cfg: dict) -> dict:
    """Trainer keys only; several processes always mean DDP (gloo on CPU, NCCL on GPU)."""
    cfg = {k: v for k, v in train_cfg.items() if k in TRAIN_DEFAULTS}
    if world_size(train_cfg) > 1:
        cfg["devices"] = device_count(train_cfg)
        if cfg.get("strategy", "auto") == "auto":
            cfg["strategy"] = "ddp"
    return cfg


def fit_sequence_model(model_input: dict, model_params: dict, train_cfg: dict, logger_=None):
    """Fit on ``train``, early-stop on ``val``; returns ``(bundle, history)`` from the best epoch.

    ``train.batch_size`` / ``train.max_tokens`` are GLOBAL: under DDP each of the N ranks takes
    1/N of it, so one and several processes see the same global batch size.
    Runs in one process, or as one torchrun rank (see ``engine.launch``).
    """
    # Training, retraining and tuning always set ``gate`` (the task's minimums), so every fit of
    # theirs passes it here too (tuning's best configuration, ranks). A library call without it
    # (a unit test on a tiny subset, a CV fold) opts out; the registry still refuses a model
    # without finite test metrics.
    if "gate" in train_cfg and not train_cfg.get("_gate_checked"):
        check_training_gate(model_input, train_cfg["gate"])
    torch.set_flush_denormal(True)
    pl.seed_everything(int(train_cfg.get("seed", 42)), workers=True)
    hparams = model_hparams(model_input, model_params)
    n_world = world_size(train_cfg)
    max_tokens = train_cfg.get("max_tokens")
    splits = model_input["splits"]
    datamodule = SequenceDataModule(
        # Lists of samples are held in memory; paths (``train.model_input_store: arrow``) are
        # Arrow stores read memory-mapped (``batching.arrow_store``).
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        batch_size=max(1, int(train_cfg.get("batch_size", 32)) // n_world),
        max_tokens=max(1, int(max_tokens) // n_world) if max_tokens else None,
        num_workers=int(train_cfg.get("num_workers", 0)),
        seed=int(train_cfg.get("seed", 42)),
    )
    model = SequenceModel(**hparams)
    _check_monitor(model, train_cfg, model_input.get("task", "?"))
    if train_cfg.get("_init_state_dict") is not None:
        # Warm start (e.g. a retraining challenger from the champion's weights).
        model.load_state_dict(train_cfg["_init_state_dict"])
    history = EpochHistory()
    ckpt_dir = checkpoint_dir_for(model_input, hparams, train_cfg)
    resume_from = train_cfg["_resume_from"] if "_resume_from" in train_cfg else prepare_checkpoints(ckpt_dir)
    resumed_epoch = int(torch.load(resume_from, map_location="cpu", weights_only=False)["epoch"]) + 1 if resume_from else 0
    if resume_from:
        logger.info("Resuming training from %s (epoch %d)", resume_from, resumed_epoch)
    trainer = build_trainer(_trainer_config(train_cfg), callbacks=[history], logger=logger_, default_root_dir=str(ckpt_dir))
    trainer.fit(model, datamodule=datamodule, ckpt_path=str(resume_from) if resume_from else None)
    if trainer.is_global_zero:
        (ckpt_dir / COMPLETED_MARKER).write_text("training finished\n")
    best_path = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best_path:
        state = torch.load(best_path, map_location="cpu", weights_only=False)["state_dict"]
        model.load_state_dict(state)
    monitor = trainer.checkpoint_callback.monitor if trainer.checkpoint_callback else None
    best_epoch = _best_epoch(history.rows, monitor, train_cfg.get("monitor_mode", "max"))
    bundle = {
        "task": model_input["task"],
        "hparams": hparams,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "preprocessing": model_input.get("preprocessing", {}),
        "class_names": model_input.get("class_names"),
        "best_epoch": best_epoch,
        "data_fingerprint": model_input["fingerprint"],
        "training": {
            "world_size": int(trainer.world_size),
            "resumed_from_epoch": resumed_epoch,
            "epochs_run": int(trainer.current_epoch),
        },
    }
    return bundle, history.rows


def _check_monitor(model: SequenceModel, train_cfg: dict, task: str) -> None:
    """Early stopping on a metric this model never logs (e.g. ``val_macro_f1`` of a multiclass
    configuration on two-class data) fails in Lightning after the first epoch with a message
    about a callback; say it before training, in the configuration's terms."""
    monitor = train_cfg.get("monitor", TRAIN_DEFAULTS["monitor"])
    logged = ["val_loss", *model.val_metrics.keys(), "train_loss"]
    if monitor not in logged:
        raise ValueError(
            f"{task}: train.monitor {monitor!r} is not a metric this model logs for this data ({', '.join(logged)}); "
            f"set {task}.train.monitor (and monitor_mode) to one of them"
        )


def _best_epoch(rows: list[dict], monitor: str | None, mode: str) -> int:
    scored = [(row[monitor], row["epoch"]) for row in rows if monitor and monitor in row]
    if not scored:
        return int(rows[-1]["epoch"]) if rows else 0
    pick = max if mode == "max" else min
    return int(pick(scored)[1])


def load_model(bundle: dict) -> SequenceModel:
    """Rebuild the LightningModule from a bundle, on CPU, in eval mode."""
    model = SequenceModel(**bundle["hparams"])
    model.load_state_dict(bundle["state_dict"])
    return model.eval()


@torch.no_grad()
def predict_samples(bundle_or_model, samples: list[dict], max_tokens: int = 65536) -> list[np.ndarray]:
    """Probabilities for each sample, in input order, cut to each sample's own length.

    Batches are length-bucketed (no shuffle) so little time is spent on padding.
    Binary tasks give ``[T]`` (tagging) or scalar; multiclass gives ``[K]`` per sequence.
    """
    model = load_model(bundle_or_model) if isinstance(bundle_or_model, dict) else bundle_or_model
    model.eval()
    dataset = SequenceDataset(samples)
    sampler = BucketBatchSampler(dataset.lengths, max_tokens=max_tokens, shuffle=False)
    out: list[np.ndarray | None] = [None] * len(samples)
    for batch_indices in sampler:
        batch = pad_collate([dataset[i] for i in batch_indices])
        probs = model.predict_step(batch, 0)
        for i, prob in zip(batch_indices, probs):
            out[i] = prob
    return out  # type: ignore[return-value]
