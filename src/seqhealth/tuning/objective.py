"""One trial: draw a configuration, train a few epochs with pruning, report the best epoch.

The trial fit is ``fit_sequence_model`` without what a trial does not need (checkpoint reuse,
the returned bundle): the same ``SequenceDataModule``, ``SequenceModel`` and ``build_trainer``,
plus the pruning callback and per-epoch MLflow logging. Checkpoints go to a temporary folder.
"""

from __future__ import annotations

import gc
import logging
import math
import tempfile

import lightning.pytorch as pl
import optuna
import torch
from optuna_integration import PyTorchLightningPruningCallback

from seqhealth.batching.datamodule import SequenceDataModule
from seqhealth.batching.dataset import SequenceDataset
from seqhealth.engine.fit import model_hparams
from seqhealth.models.module import SequenceModel
from seqhealth.models.training import TRAIN_DEFAULTS, build_trainer
from seqhealth.tuning.mlflow_trials import TrialTracker
from seqhealth.tuning.space import split_params, suggest_params
from seqhealth.tuning.study import OCCUPYING_STATES

logger = logging.getLogger(__name__)

SURPLUS_ATTR = "seqhealth_surplus"


class SurplusTrial(RuntimeError):
    """Raised when concurrent workers started more trials than ``n_trials``; recorded as FAIL."""


class EpochMonitor(pl.Callback):
    """Records the validation metrics of every epoch and sends them to the trial's MLflow run.

    Hooks ``on_validation_end`` (like the pruning callback) because the module logs its epoch
    metrics in its own ``on_validation_epoch_end``; by ``on_validation_end`` they are final.
    """

    def __init__(self, tracker: TrialTracker | None = None, run_id: str | None = None):
        self.tracker, self.run_id = tracker, run_id
        self.rows: list[dict] = []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("val_", "train_"))}
        self.rows.append({"epoch": int(trainer.current_epoch), **metrics})
        if self.tracker is not None and self.run_id:
            self.tracker.log_epoch(self.run_id, metrics, int(trainer.current_epoch))


def fit_trial(model_input: dict, model_params: dict, train_cfg: dict, callbacks: list) -> None:
    """Train on ``train``, validate every epoch on ``val``; the callbacks observe (and prune)."""
    splits = model_input["splits"]
    datamodule = SequenceDataModule(
        train=SequenceDataset(splits["train"]),
        val=SequenceDataset(splits["val"]),
        batch_size=int(train_cfg.get("batch_size", 32)),
        max_tokens=train_cfg.get("max_tokens"),
        num_workers=int(train_cfg.get("num_workers", 0)),
        seed=int(train_cfg.get("seed", 42)),
    )
    trainer_cfg = {k: v for k, v in train_cfg.items() if k in TRAIN_DEFAULTS}
    with tempfile.TemporaryDirectory(prefix="seqhealth-trial-") as workdir:
        # build_trainer seeds everything: each trial starts from the same seed, so two trials
        # differ only by their configuration.
        trainer = build_trainer(trainer_cfg, callbacks=callbacks, default_root_dir=workdir)
        model = SequenceModel(**model_hparams(model_input, model_params))
        trainer.fit(model, datamodule=datamodule)


def best_value(rows: list[dict], monitor: str, direction: str) -> float:
    values = [row[monitor] for row in rows if monitor in row and math.isfinite(row[monitor])]
    if not values:
        raise ValueError(f"no finite {monitor!r} in any epoch of this trial (logged: {sorted(rows[-1]) if rows else []})")
    return max(values) if direction == "maximize" else min(values)


class TrialObjective:
    """The Optuna objective of a study ``spec`` (see ``study.build_spec``) on one model input."""

    def __init__(self, spec: dict, model_input: dict, n_trials: int, tracker: TrialTracker | None = None,
                 worker_id: str = ""):
        self.spec, self.model_input, self.n_trials, self.tracker = spec, model_input, int(n_trials), tracker
        self.worker_id = worker_id

    def _check_not_surplus(self, trial: optuna.Trial) -> None:
        # Workers check the count before asking for a trial, but two can pass that check at the
        # same moment; trial numbers are assigned by the storage, so the later one gives way.
        ahead = [t for t in trial.study.get_trials(deepcopy=False, states=OCCUPYING_STATES) if t.number < trial.number]
        if len(ahead) >= self.n_trials:
            trial.set_user_attr(SURPLUS_ATTR, True)
            raise SurplusTrial(f"trial {trial.number}: {len(ahead)} trials already fill n_trials={self.n_trials}")

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", self.worker_id)
        self._check_not_surplus(trial)
        spec = self.spec
        params = suggest_params(trial, spec["space"])
        model_params, train_overrides = split_params(params, causal=spec["causal"])
        train_cfg = {**spec["trial_train"], **train_overrides}
        run_id = self.tracker.start(trial.number, params) if self.tracker else None
        if run_id:
            trial.set_user_attr("mlflow_run_id", run_id)
        monitor = EpochMonitor(self.tracker, run_id)
        pruning = PyTorchLightningPruningCallback(trial, monitor=spec["monitor"])
        try:
            fit_trial(self.model_input, {**spec["base_model_params"], **model_params}, train_cfg, [monitor, pruning])
            value = best_value(monitor.rows, spec["monitor"], spec["direction"])
        except optuna.TrialPruned:
            if run_id:
                self.tracker.finish(run_id, "pruned")
            raise
        except BaseException as err:
            logger.warning("trial %d failed: %r", trial.number, err)
            if run_id:
                self.tracker.finish(run_id, "failed", error=repr(err))
            raise
        finally:
            _free_memory()
        if run_id:
            self.tracker.finish(run_id, "complete", value=value)
        return value


def _free_memory() -> None:
    """A failed (e.g. out-of-memory) trial must not leave its tensors to the next one."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
