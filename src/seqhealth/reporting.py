"""Figures people would rather look at than numbers: ROC/PR, learning curves, calibration."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless: figures are written to files and MLflow, never shown

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

# Legends go below the axes (constrained layout makes room): inside, a curve that hugs a corner
# (dna_coding's precision ~0.99 over all recall) disappears under the legend box.
_LEGEND_BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "ncol": 2, "frameon": False}


def roc_pr_figures(y_true: np.ndarray, prob: np.ndarray, title: str) -> dict[str, plt.Figure]:
    """ROC and precision-recall curves of a binary classifier, AUC / AP in the legends."""
    fpr, tpr, _ = roc_curve(y_true, prob)
    precision, recall, _ = precision_recall_curve(y_true, prob)
    prevalence = float(np.mean(y_true))
    roc_fig, ax = plt.subplots(figsize=(4.5, 5.2), layout="constrained")
    ax.plot(fpr, tpr, label=f"model (AUC {roc_auc_score(y_true, prob):.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance (AUC 0.5)")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {title}")
    ax.legend(**_LEGEND_BELOW)
    pr_fig, ax = plt.subplots(figsize=(4.5, 5.2), layout="constrained")
    ax.plot(recall, precision, label=f"model (AP {average_precision_score(y_true, prob):.3f})")
    ax.axhline(prevalence, ls="--", color="grey", label=f"prevalence ({prevalence:.3f})")
    ax.set(xlabel="recall", ylabel="precision", title=f"PR: {title}", ylim=(0, 1.02))
    ax.legend(**_LEGEND_BELOW)
    return {"roc.png": roc_fig, "pr.png": pr_fig}


def learning_curves_figure(history: Sequence[dict], title: str) -> dict[str, plt.Figure]:
    """Train/val loss and the monitored validation metric per epoch."""
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(9, 3.8))
    epochs = [row["epoch"] for row in history]
    for key in ("train_loss", "val_loss"):
        loss_ax.plot(epochs, [row.get(key, np.nan) for row in history], marker="o", label=key)
    loss_ax.set(xlabel="epoch", ylabel="loss", title=f"loss: {title}")
    loss_ax.legend()
    metric_keys = sorted({k for row in history for k in row if k.startswith("val_") and k != "val_loss"})
    for key in metric_keys:
        metric_ax.plot(epochs, [row.get(key, np.nan) for row in history], marker="o", label=key)
    metric_ax.set(xlabel="epoch", title="validation metrics")
    if metric_keys:
        metric_ax.legend(fontsize=8)
    return {"learning_curves.png": fig}


def reliability_figure(y_true: np.ndarray, prob: np.ndarray, title: str, n_bins: int = 10) -> dict:
    """Calibration (reliability) diagram with the histogram of predicted risks."""
    frac_pos, mean_pred = calibration_curve(y_true, prob, n_bins=n_bins, strategy="quantile")
    fig, (ax, hist_ax) = plt.subplots(2, 1, figsize=(4.5, 6), height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    ax.plot(mean_pred, frac_pos, marker="o", label="model")
    ax.set(ylabel="observed frequency", title=f"reliability: {title}")
    ax.legend(loc="upper left")
    hist_ax.hist(prob, bins=20, range=(0, 1), color="tab:blue", alpha=0.7)
    hist_ax.set(xlabel="predicted risk", ylabel="count")
    return {"reliability.png": fig}


def text_colour(value: float, vmax: float) -> str:
    return "white" if vmax > 0 and value > vmax / 2 else "black"


def confusion_figure(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], title: str) -> dict:
    """Confusion matrix (rows: truth, columns: prediction)."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(len(class_names))))
    fig, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2.5, 1.2 * len(class_names) + 2))
    ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    for (i, j), count in np.ndenumerate(matrix):
        # white on the dark half of the colour map, black on the light half: always readable
        ax.text(j, i, str(count), ha="center", va="center", fontsize=11,
                color=text_colour(count, int(matrix.max())))
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion: {title}")
    return {"confusion.png": fig}
