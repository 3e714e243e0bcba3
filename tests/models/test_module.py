import numpy as np
import pytest
import torch

from seqhealth.batching.collate import pad_collate
from seqhealth.batching.datamodule import SequenceDataModule
from seqhealth.batching.dataset import SequenceDataset
from seqhealth.models.module import SequenceModel
from seqhealth.models.training import build_trainer


def _tagging_samples(n, seed):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        length = int(rng.integers(5, 30))
        x = rng.integers(1, 5, size=length)
        samples.append({"x": x, "y": (x == 3).astype(np.int64), "length": length})
    return samples


def _sequence_samples(n, seed):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        length, label = int(rng.integers(5, 30)), int(rng.integers(0, 3))
        probabilities = np.full(4, 0.4 / 3)
        probabilities[label] = 0.6
        x = rng.choice(np.arange(1, 5), size=length, p=probabilities)
        samples.append({"x": x, "y": label, "length": length})
    return samples


def test_causal_bidirectional_is_refused():
    with pytest.raises(ValueError, match="bidirectional.*read the future"):
        SequenceModel(causal=True, bidirectional=True)
    SequenceModel(causal=True, bidirectional=False)  # a forward-only model is fine


@pytest.mark.filterwarnings(r"ignore:You are trying to `self.log\(\)`")
@pytest.mark.parametrize("task_kind,n_classes,pooling,input_skip", [
    ("tagging", 1, "mean", False), ("sequence", 3, "attention", False), ("sequence", 1, "mean", False),
    ("sequence", 3, "last", False), ("sequence", 1, "attention", True), ("tagging", 1, "mean", True),
])
def test_padding_changes_nothing(task_kind, n_classes, pooling, input_skip):
    torch.manual_seed(0)
    samples = _tagging_samples(6, 1) if task_kind == "tagging" else _sequence_samples(6, 1)
    if task_kind == "sequence" and n_classes == 1:
        samples = [{**s, "y": s["y"] % 2} for s in samples]
    model = SequenceModel(task_kind=task_kind, n_classes=n_classes, hidden_size=8,
                          head_pooling=pooling, input_skip=input_skip, head_dropout=0.5).eval()
    dataset = SequenceDataset(samples)
    batch = pad_collate([dataset[i] for i in range(len(dataset))])
    extra = {"x": torch.nn.functional.pad(batch["x"], (0, 13)),
             "mask": torch.nn.functional.pad(batch["mask"], (0, 13)),
             "y": batch["y"] if task_kind == "sequence"
             else torch.nn.functional.pad(batch["y"], (0, 13), value=-100)}
    padded_more = {**batch, **extra}
    with torch.no_grad():
        loss_a, _, _ = model._step(batch)
        loss_b, _, _ = model._step(padded_more)
        predictions_a = model.predict_step(batch, 0)
        predictions_b = model.predict_step(padded_more, 0)
        for b in (batch, padded_more):
            model._evaluate(b, model.val_metrics, "val_")
            if b is batch:
                metrics_a = model.val_metrics.compute()
                model.val_metrics.reset()
        metrics_b = model.val_metrics.compute()
    assert torch.allclose(loss_a, loss_b, atol=1e-6)
    for a, b in zip(predictions_a, predictions_b, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-6)
    for key in metrics_a:
        assert torch.allclose(metrics_a[key], metrics_b[key], atol=1e-6), key


def test_sequence_input_skip_reads_each_sequence_at_its_own_last_step():
    torch.manual_seed(0)
    model = SequenceModel(task_kind="sequence", n_classes=1, input_kind="features", input_size=2,
                          hidden_size=4, input_skip=True, head_dropout=0.5).eval()
    with torch.no_grad():  # the output layer reads only the skip's first feature
        model.head.out.weight.zero_()
        model.head.out.bias.zero_()
        model.head.out.weight[0, -2] = 1.0
    rng = np.random.default_rng(0)
    samples = []
    for length, last in [(3, 2.0), (7, -1.5), (5, 0.25)]:
        x = rng.normal(size=(length, 2)).astype(np.float32)
        x[-1, 0] = last
        samples.append({"x": x, "y": 0, "length": length})
    batch = pad_collate([SequenceDataset(samples)[i] for i in range(3)])
    with torch.no_grad():
        logits = model(batch["x"], batch["lengths"], batch["mask"]).squeeze(-1)
    np.testing.assert_allclose(logits.numpy(), [2.0, -1.5, 0.25], atol=1e-6)  # not the padded zeros
    model.train()  # head dropout acts on the encoder side only: the skip is never dropped
    with torch.no_grad():
        np.testing.assert_allclose(model(batch["x"], batch["lengths"], batch["mask"]).squeeze(-1).numpy(),
                                   [2.0, -1.5, 0.25], atol=1e-6)


@pytest.mark.parametrize("task_kind,n_classes", [("tagging", 1), ("sequence", 3)])
def test_tiny_fit_lowers_loss(tmp_path, task_kind, n_classes):
    make = _tagging_samples if task_kind == "tagging" else _sequence_samples
    dm = SequenceDataModule(make(96, 0), make(32, 1), predict=make(5, 2), batch_size=16, seed=0)
    model = SequenceModel(task_kind=task_kind, n_classes=n_classes, hidden_size=16,
                          num_layers=1, embedding_dim=8, lr=0.02, lr_schedule="cosine")
    trainer = build_trainer({"max_epochs": 3, "accelerator": "cpu", "devices": 1,
                             "early_stopping_patience": 0}, callbacks=[],
                            default_root_dir=tmp_path)
    before = trainer.validate(model, datamodule=dm, verbose=False)[0]["val_loss"]
    trainer.fit(model, datamodule=dm)
    after = trainer.callback_metrics["val_loss"].item()
    assert after < 0.8 * before
    metric = "val_auroc" if n_classes == 1 else "val_accuracy"
    assert metric in trainer.callback_metrics
    # Lightning relayed set_epoch to our batch sampler every epoch (0, 1, 2).
    assert trainer.train_dataloader.batch_sampler.epoch == 2
    predictions = [p for batch in trainer.predict(model, datamodule=dm) for p in batch]
    lengths = [s["length"] for s in dm.predict_set.samples]
    if task_kind == "tagging":
        assert [len(p) for p in predictions] == lengths
    else:
        assert all(p.shape == (3,) and abs(p.sum() - 1) < 1e-5 for p in predictions)


def test_build_trainer_reads_train_group(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    cfg = {"accelerator": "cpu", "devices": 1, "max_epochs": 2, "monitor": "val_auroc",
           "monitor_mode": "max", "early_stopping_patience": 3, "batch_size": 8}
    trainer = build_trainer(cfg, callbacks=[], default_root_dir=tmp_path)
    kinds = {type(c) for c in trainer.callbacks}
    assert {EarlyStopping, ModelCheckpoint} <= kinds and LearningRateMonitor not in kinds
    assert trainer.checkpoint_callback.monitor == "val_auroc"
    assert trainer.max_epochs == 2
    with_logger = build_trainer(cfg, callbacks=[], logger=CSVLogger(tmp_path),
                                default_root_dir=tmp_path)
    assert LearningRateMonitor in {type(c) for c in with_logger.callbacks}
    with pytest.raises(ValueError, match="monitor_mode"):
        build_trainer({**cfg, "monitor_mode": "up"}, callbacks=[])


def test_binary_models_log_accuracy_and_macro_f1_like_multiclass_ones():
    """A two-class sequence task may monitor val_macro_f1 (dna_classify's default)."""
    from sklearn.metrics import accuracy_score, f1_score


    metrics = SequenceModel(task_kind="sequence", n_classes=1, cell="gru", hidden_size=4, num_layers=1)._metrics("val_")
    prob, y = torch.tensor([0.9, 0.2, 0.7, 0.4, 0.6]), torch.tensor([1, 0, 0, 0, 1])
    metrics.update(prob, y)
    values = {k: float(v) for k, v in metrics.compute().items()}
    predicted = (prob >= 0.5).int().tolist()
    assert values["val_macro_f1"] == pytest.approx(f1_score(y.tolist(), predicted, average="macro"), abs=1e-6)
    assert values["val_accuracy"] == pytest.approx(accuracy_score(y.tolist(), predicted), abs=1e-6)
