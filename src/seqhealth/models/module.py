"""LightningModule for per-position tagging, per-sequence classification and per-position
forecasting (``task_kind="forecast"``: a Gaussian mean and spread for each of ``n_classes``
series at every step, trained by negative log-likelihood on the targets that were observed).

Losses and metrics only ever see valid positions (``mask`` and not ``IGNORE_LABEL``), and the
loss is a mean over those, so extra padding cannot change a result.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryAveragePrecision,
    BinaryF1Score,
    BinaryMatthewsCorrCoef,
    MulticlassAccuracy,
    MulticlassF1Score,
)
from torchmetrics.regression import MeanAbsoluteError

from seqhealth.batching.collate import IGNORE_LABEL
from seqhealth.models.components import (
    PositionHead,
    SequenceEncoder,
    SequenceHead,
    random_reverse_complement,
    reverse_complement,
)
from seqhealth.models.stay_summary import StaySummary
from seqhealth.models.wide import WideFeatures


def _validate_hparams(task_kind: str, n_classes: int, causal: bool, bidirectional: bool,
                      lr_schedule: str) -> None:
    if task_kind not in ("tagging", "sequence", "forecast"):
        raise ValueError(f"task_kind must be 'tagging', 'sequence' or 'forecast', got {task_kind!r}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be 1 (binary) or >= 2 (multiclass), got {n_classes}")
    if lr_schedule not in ("plateau", "cosine", "none"):
        raise ValueError(f"lr_schedule must be plateau|cosine|none, got {lr_schedule!r}")
    if causal and bidirectional:
        raise ValueError(
            "causal=True with bidirectional=True: the backward direction would read the future "
            "(later hours) to predict each position; set bidirectional=False for online "
            "prediction tasks such as hourly sepsis warning"
        )


class _TwoClassMacroF1(MulticlassF1Score):
    """Macro-F1 over both classes of a binary model (``P(positive)`` in, as its other metrics)."""

    def __init__(self) -> None:
        super().__init__(num_classes=2, average="macro")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        super().update(torch.stack([1 - preds, preds], dim=-1), target)


class SequenceModel(pl.LightningModule):
    def __init__(
        self,
        task_kind: str = "tagging",
        n_classes: int = 1,
        input_kind: str = "tokens",
        vocab_size: int = 6,
        input_size: int | None = None,
        embedding_dim: int = 16,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.1,
        bidirectional: bool = True,
        head_pooling: str = "mean",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: str = "plateau",
        causal: bool = False,
        pos_weight: float | None = None,
        class_weights: list[float] | None = None,
        use_packing: bool = False,
        kmer_size: int = 1,
        input_skip: bool = False,
        head_dropout: float = 0.0,
        conv_channels: int = 0,
        conv_kernel: int = 9,
        conv_pool: int = 1,
        rc_augment: bool = False,
        rc_invariant: bool = False,
        sequence_length: int = 0,
        wide_onehot: bool = False,
        wide_kmer_size: int = 0,
        wide_both_strands: bool = True,
        wide_dropout: float = 0.0,
        wide_onehot_max_k: int = 1,
        wide_l2: float = 0.0,
        stay_summary: bool = False,
        n_variables: int = 0,
        observed_offset: int = -1,
    ):
        super().__init__()
        _validate_hparams(task_kind, n_classes, causal, bidirectional, lr_schedule)
        self.save_hyperparameters()
        self.encoder = SequenceEncoder(
            input_kind=input_kind, vocab_size=vocab_size, input_size=input_size,
            embedding_dim=embedding_dim, cell=cell, hidden_size=hidden_size,
            num_layers=num_layers, dropout=dropout, bidirectional=bidirectional,
            use_packing=use_packing, kmer_size=kmer_size,
            conv_channels=conv_channels, conv_kernel=conv_kernel, conv_pool=conv_pool,
        )
        # DNA orientation (token inputs only): rc_augment trains on a random strand of each
        # sequence; rc_invariant averages the logits of both strands, in training and prediction.
        if (rc_augment or rc_invariant) and input_kind != "tokens":
            raise ValueError("rc_augment / rc_invariant need DNA tokens (input_kind='tokens')")
        if conv_channels and conv_pool > 1 and task_kind != "sequence":
            raise ValueError("conv_pool > 1 shortens the sequence: only for task_kind='sequence'")
        if rc_invariant and task_kind != "sequence":
            raise ValueError("rc_invariant averages whole-sequence logits: only for task_kind='sequence'")
        # input_skip: the head also sees the input directly, next to the RNN's summary of it.
        # Tagging: each position's own input, so a strong local feature (e.g. ORF length) is
        # usable from the first step while the RNN learns the context around it. Sequence: the
        # input at the sequence's last step; for vitals that is the latest carried-forward value
        # of every variable (the chart at 48 h), which on the 2012 sample alone carries most
        # of the signal that a small RNN otherwise dilutes over the stay.
        skip_size = self.encoder.input_size if input_skip else 0
        # Wide-and-deep (DNA sequence classification): the head also reads fixed features, the
        # positional one-hot bases when the training sequences share one length
        # (``sequence_length``, set from the data; with wide_onehot_max_k > 1 also the k-mer
        # starting at each position) and the k-mer profile of k = wide_kmer_size (models/wide.py).
        # Vitals: per-variable mean / min / max / first / count of the stay's observed values
        # (models/stay_summary.py; running, i.e. causal, for hourly tagging). ``n_variables`` and
        # ``observed_offset`` describe the feature layout and come from the data (data_hparams).
        self.summary = None
        if stay_summary:
            if input_kind != "features" or task_kind not in ("sequence", "tagging"):
                raise ValueError("stay_summary needs vitals features and task_kind 'sequence' or 'tagging'")
            self.summary = StaySummary(n_variables, observed_offset, running=task_kind == "tagging")
            skip_size += self.summary.output_size
        self.wide = None
        if wide_onehot or wide_kmer_size:
            if task_kind != "sequence" or input_kind != "tokens":
                raise ValueError("wide_onehot / wide_kmer_size need DNA tokens and task_kind='sequence'")
            positions = int(sequence_length or 0) if wide_onehot else 0
            kmer_sizes = (int(wide_kmer_size),) if wide_kmer_size else ()
            self.wide = WideFeatures(vocab_size, positions, kmer_sizes, wide_both_strands, wide_onehot_max_k)
            skip_size += self.wide.output_size
            # Input dropout on the wide features: the L2-like shrinkage a tiny training set needs
            # (the positional logistic regression baseline is best at strong L2, C=0.03).
            self.wide_dropout = nn.Dropout(wide_dropout)
        if task_kind in ("tagging", "forecast"):
            # A forecast head gives a mean and a raw spread per series.
            n_outputs = 2 * n_classes if task_kind == "forecast" else n_classes
            self.head = PositionHead(self.encoder.output_size + skip_size, n_outputs)
        else:
            self.head = SequenceHead(self.encoder.output_size, n_classes, head_pooling, skip_size)
        # Dropout on the encoder's outputs before the head: the only dropout a one-layer
        # encoder gets (``dropout`` acts between stacked layers), never on the input skip.
        self.head_dropout = nn.Dropout(head_dropout)
        self.forecast = task_kind == "forecast"
        self.binary = n_classes == 1 and not self.forecast
        # Buffers so the weights follow the module to any device.
        self.register_buffer("pos_weight", None if pos_weight is None
                             else torch.tensor([float(pos_weight)]))
        self.register_buffer("class_weights", None if class_weights is None
                             else torch.tensor(class_weights, dtype=torch.float32))
        self.val_metrics = self._metrics("val_")
        self.test_metrics = self._metrics("test_")

    def _metrics(self, prefix: str) -> MetricCollection:
        if self.forecast:
            metrics = {"mae": MeanAbsoluteError()}  # on the normalised scale, observed targets only
        elif self.binary:
            # accuracy / macro_f1 too, so a two-class sequence task can monitor what a multiclass
            # one does (dna_classify's default monitor is val_macro_f1 whatever its class count).
            metrics = {"auroc": BinaryAUROC(), "auprc": BinaryAveragePrecision(),
                       "mcc": BinaryMatthewsCorrCoef(), "f1": BinaryF1Score(),
                       "accuracy": BinaryAccuracy(), "macro_f1": _TwoClassMacroF1()}
        else:
            n = self.hparams.n_classes
            metrics = {"accuracy": MulticlassAccuracy(num_classes=n, average="micro"),
                       "macro_f1": MulticlassF1Score(num_classes=n, average="macro")}
        return MetricCollection(metrics, prefix=prefix)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor):
        if self.hparams.rc_invariant:
            reverse = self._forward_strand(reverse_complement(x, lengths), lengths, mask)
            return 0.5 * (self._forward_strand(x, lengths, mask) + reverse)
        return self._forward_strand(x, lengths, mask)

    def _forward_strand(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor):
        outputs, final = self.encoder(x, lengths)
        if outputs.shape[1] != mask.shape[1]:  # a pooling conv front-end shortened the sequences
            pooled = self.encoder.output_lengths(lengths).to(outputs.device)
            mask = torch.arange(outputs.shape[1], device=outputs.device).unsqueeze(0) < pooled.unsqueeze(1)
        outputs, final = self.head_dropout(outputs), self.head_dropout(final)
        if not self.hparams.input_skip and self.wide is None and self.summary is None:
            return self.head(outputs, mask, final)  # logits [B, C] or [B, T, C]
        inputs = self.encoder.embed(x)
        if self.hparams.task_kind in ("tagging", "forecast"):
            per_step = [outputs]
            if self.hparams.input_skip:
                per_step.append(inputs * mask.unsqueeze(-1))
            if self.summary is not None:
                per_step.append(self.summary(x, mask) * mask.unsqueeze(-1))
            return self.head(torch.cat(per_step, dim=-1), mask, final)
        skips = []
        if self.hparams.input_skip:
            last_step = (lengths.to(inputs.device) - 1).clamp(min=0)
            skips.append(inputs[torch.arange(len(inputs), device=inputs.device), last_step])
        if self.summary is not None:  # before the wide features: wide_l2 reads the last columns
            skips.append(self.summary(x, mask))
        if self.wide is not None:
            skips.append(self.wide_dropout(self.wide(self._one_hot(x, inputs), x)))
        return self.head(outputs, mask, final, skip=torch.cat(skips, dim=-1))

    def _one_hot(self, x: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """One-hot tokens for the wide features: the encoder's own input when it is one-hot (so
        gradient x input at that input also covers the wide path), else built from ``x``."""
        if self.encoder.embedding is None and self.encoder.input_kind == "tokens":
            return inputs
        return F.one_hot(x.long(), self.hparams.vocab_size).to(inputs.dtype)

    def _valid(self, batch: dict, logits: torch.Tensor):
        """Flattened logits [N, C], labels [N], weights [N] of the positions that count."""
        y = batch["y"]
        weight = batch.get("weight")
        if weight is None:
            weight = torch.ones(y.shape[0], device=logits.device)
        if self.forecast:
            valid = batch["mask"]
            return logits[valid], y[valid], weight.unsqueeze(1).expand(valid.shape)[valid]
        if self.hparams.task_kind == "tagging":
            valid = batch["mask"] & (y != IGNORE_LABEL)
            weight = weight.unsqueeze(1).expand_as(y)
            return logits[valid], y[valid], weight[valid]
        valid = y != IGNORE_LABEL
        return logits[valid], y[valid], weight[valid]

    def _loss(self, logits: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if len(y) == 0:
            return logits.sum() * 0.0  # keeps the graph; no valid label in this batch
        if self.forecast:
            return self._gaussian_nll(logits, y, weight)
        if self.binary:
            per_item = F.binary_cross_entropy_with_logits(
                logits.squeeze(-1), y.float(), pos_weight=self.pos_weight, reduction="none")
        else:
            per_item = F.cross_entropy(logits, y.long(), weight=self.class_weights,
                                       reduction="none")
        return (per_item * weight).sum() / weight.sum().clamp(min=1e-12)

    @staticmethod
    def _mean_and_spread(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = logits.chunk(2, dim=-1)
        return mean, F.softplus(raw) + 1e-3  # a spread bounded away from 0 keeps the NLL finite

    def _gaussian_nll(self, logits: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Mean Gaussian NLL over the targets that exist (NaN = not observed next step)."""
        mean, spread = self._mean_and_spread(logits)
        observed = torch.isfinite(y)
        nll = F.gaussian_nll_loss(mean, torch.nan_to_num(y), spread**2, reduction="none", full=True)
        nll = (nll * observed) * weight.unsqueeze(-1)
        return nll.sum() / (observed * weight.unsqueeze(-1)).sum().clamp(min=1e-12)

    def _probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        if self.forecast:  # [..., 2K]: the K means, then the K spreads (standard deviations)
            return torch.cat(self._mean_and_spread(logits), dim=-1)
        return torch.sigmoid(logits.squeeze(-1)) if self.binary else torch.softmax(logits, -1)

    def _step(self, batch: dict):
        logits = self(batch["x"], batch["lengths"], batch["mask"])
        flat_logits, y, weight = self._valid(batch, logits)
        return self._loss(flat_logits, y, weight), flat_logits, y

    def training_step(self, batch: dict, batch_idx: int):
        if self.hparams.rc_augment:
            batch = {**batch, "x": random_reverse_complement(batch["x"], batch["lengths"])}
        loss, _, y = self._step(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True,
                 batch_size=max(len(y), 1))
        if self.wide is not None and self.hparams.wide_l2:
            # What logistic regression's C does for the baselines: a penalty on the wide weights
            # only (mean-loss scale: wide_l2 = 1 / (2 C n_train)); the RNN keeps its own regime.
            wide_weights = self.head.out.weight[:, -self.wide.output_size:]
            loss = loss + self.hparams.wide_l2 * wide_weights.pow(2).sum()
        return loss

    def _evaluate(self, batch: dict, metrics: MetricCollection, prefix: str):
        loss, flat_logits, y = self._step(batch)
        self.log(f"{prefix}loss", loss, on_step=False, on_epoch=True, sync_dist=True,
                 batch_size=max(len(y), 1))
        if self.forecast:
            observed = torch.isfinite(y)
            if observed.any():
                metrics.update(self._mean_and_spread(flat_logits)[0][observed], y[observed])
        elif len(y):
            metrics.update(self._probabilities(flat_logits), y.long())
        return loss

    def validation_step(self, batch: dict, batch_idx: int):
        return self._evaluate(batch, self.val_metrics, "val_")

    def test_step(self, batch: dict, batch_idx: int):
        return self._evaluate(batch, self.test_metrics, "test_")

    def _log_metrics(self, metrics: MetricCollection) -> None:
        # torchmetrics already reduces its states over ranks in compute().
        self.log_dict({k: v.float() for k, v in metrics.compute().items()}, sync_dist=True)
        metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics)

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> list:
        """Probabilities per sample: ``[length]`` / ``[length, C]`` (tagging) or ``[]`` / ``[C]``;
        forecasts ``[length, 2K]`` (means, then standard deviations)."""
        logits = self(batch["x"], batch["lengths"], batch["mask"])
        probabilities = self._probabilities(logits).float().cpu().numpy()
        if self.hparams.task_kind == "sequence":
            return list(probabilities)
        return [p[:n] for p, n in zip(probabilities, batch["lengths"].tolist(), strict=True)]

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr,
                                      weight_decay=self.hparams.weight_decay)
        if self.hparams.lr_schedule == "none":
            return optimizer
        if self.hparams.lr_schedule == "cosine":
            max_epochs = max(1, int(self.trainer.max_epochs or 1))
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}
