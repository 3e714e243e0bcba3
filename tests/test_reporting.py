"""Plots: AUC / AP in the legends, legends off the curves, readable confusion-matrix counts."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from seqhealth.reporting import confusion_figure, roc_pr_figures


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.9).astype(int)  # dna_coding-like: most bases coding, PR curve near 1
    prob = np.clip(0.6 * y + rng.normal(0.2, 0.25, y.size), 0, 1)
    return y, prob


def test_roc_and_pr_legends_carry_auc_and_ap_and_sit_outside_the_axes(scores):
    y, prob = scores
    figures = roc_pr_figures(y, prob, "test")
    expected = {"roc.png": f"model (AUC {roc_auc_score(y, prob):.3f})",
                "pr.png": f"model (AP {average_precision_score(y, prob):.3f})"}
    for name, figure in figures.items():
        (ax,) = figure.axes
        legend = ax.get_legend()
        texts = [t.get_text() for t in legend.get_texts()]
        assert texts[0] == expected[name]
        figure.canvas.draw()
        legend_box = legend.get_window_extent()
        axes_box = ax.get_window_extent()
        assert legend_box.y1 <= axes_box.y0, f"{name}: the legend overlaps the plotting area"
        assert 0 <= legend_box.y0 and legend_box.x0 >= 0, f"{name}: the legend is cut off the figure"
    assert figures["pr.png"].axes[0].get_legend().get_texts()[1].get_text() == f"prevalence ({y.mean():.3f})"


def test_confusion_counts_contrast_with_their_cell(scores):
    y_true = np.array([0] * 90 + [1] * 10 + [2] * 5)
    y_pred = np.array([0] * 85 + [1] * 5 + [1] * 9 + [0] + [2] * 5)
    (figure,) = confusion_figure(y_true, y_pred, ["a", "b", "c"], "test").values()
    ax = figure.axes[0]
    image = ax.get_images()[0]
    for text in ax.texts:
        x, y = text.get_position()
        cell = image.cmap(image.norm(image.get_array()[int(y), int(x)]))[:3]
        luminance = np.dot(cell, [0.2126, 0.7152, 0.0722])
        ink = np.dot(mcolors.to_rgb(text.get_color()), [0.2126, 0.7152, 0.0722])
        assert abs(luminance - ink) > 0.4, (text.get_text(), cell, text.get_color())
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted([85, 5, 0, 1, 9, 0, 0, 0, 5])
