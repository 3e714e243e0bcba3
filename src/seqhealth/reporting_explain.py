"""Figures of model explanations: ISM logos / effect maps (DNA) and attribution heatmaps (vitals)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are written to files and MLflow, never shown

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BASES = "ACGT"


def shown_window(importance: np.ndarray, width: int = 120) -> tuple[int, int]:
    """``[start, end)`` of at most ``width`` positions centred on the largest |importance|."""
    length = len(importance)
    if length <= width:
        return 0, length
    centre = int(np.argmax(np.abs(importance)))
    start = int(np.clip(centre - width // 2, 0, length - width))
    return start, start + width


def ism_figure(record_id: str, sequence: str, effects: np.ndarray, saliency: np.ndarray, target: str,
               width: int = 120) -> plt.Figure:  # fmt: skip
    """Three aligned tracks over the most affected window: a logo of the reference bases scaled by
    how much mutating them away lowers the score (logomaker), the 4 x L ISM effect map, and the
    gradient x input saliency."""
    import logomaker

    importance = -effects.sum(0) / 3.0  # mean loss of score when the base present is mutated
    start, end = shown_window(importance, width)
    positions = np.arange(start, end)
    logo = pd.DataFrame(0.0, index=positions, columns=list(BASES))
    for i in positions:
        base = sequence[i]
        if base in BASES:
            logo.loc[i, base] = importance[i]
    fig, axes = plt.subplots(3, 1, figsize=(max(6.0, 0.09 * (end - start) + 2), 6.5), sharex=True,
                             gridspec_kw={"height_ratios": [1.3, 1.0, 0.8]})  # fmt: skip
    logomaker.Logo(logo, ax=axes[0], color_scheme="classic", flip_below=False)
    axes[0].axhline(0, color="grey", lw=0.5)
    axes[0].set_ylabel("importance")
    axes[0].set_title(f"{record_id}: in-silico mutagenesis of {target}")
    shown = effects[:, start:end]
    vmax = float(np.abs(shown).max()) or 1.0
    image = axes[1].imshow(shown, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                           extent=(start - 0.5, end - 0.5, 3.5, -0.5), interpolation="nearest")  # fmt: skip
    axes[1].set_yticks(range(4), list(BASES))
    axes[1].set_ylabel("mutated to")
    fig.colorbar(image, ax=axes[1], fraction=0.02, pad=0.01, label="score change")
    axes[2].bar(positions, saliency[start:end], color="tab:purple", width=0.9)
    axes[2].set_ylabel("grad x input")
    axes[2].set_xlabel("position (0-based)")
    fig.tight_layout()
    return fig


def attribution_figure(patient_id: str, per_variable_hour: pd.DataFrame, top: list[str], target: str,
                       risk: pd.DataFrame | None = None) -> plt.Figure:  # fmt: skip
    """Heatmap variables (the ``top`` ones) x hours of integrated-gradients attributions; with
    ``risk`` (columns ``time``, ``risk``: sepsis) the risk curve on the same hour axis above it."""
    table = per_variable_hour.pivot_table(index="variable", columns="time", values="attribution", aggfunc="sum")
    table = table.reindex(index=top).fillna(0.0)
    times = table.columns.to_numpy(dtype=float)
    rows = 2 if risk is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(9, 1.6 + 0.3 * len(top) + 1.8 * (rows - 1)), squeeze=False,
                             sharex=True, gridspec_kw={"height_ratios": [1.0, 2.2] if rows == 2 else [1.0]})  # fmt: skip
    axes = axes[:, 0]
    last = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1.0) if len(times) else 1.0
    edges = np.concatenate([times, [last]]) if len(times) else np.array([0.0, 1.0])
    if risk is not None:
        centres = (edges[:-1] + edges[1:]) / 2 if len(times) else risk["time"]  # over the heatmap's cells
        axes[0].plot(centres, risk["risk"].to_numpy()[: len(centres)], color="tab:red", marker=".")
        axes[0].set_ylabel("risk")
        axes[0].set_title(f"patient {patient_id}: risk and what drove {target}")
    heat = axes[-1]
    vmax = float(np.abs(table.to_numpy()).max()) or 1.0
    mesh = heat.pcolormesh(edges, np.arange(len(top) + 1), table.to_numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    heat.set_yticks(np.arange(len(top)) + 0.5, top)
    heat.invert_yaxis()
    heat.set_xlabel("hours since admission")
    if risk is None:
        heat.set_title(f"patient {patient_id}: integrated gradients of {target}")
    fig.colorbar(mesh, ax=heat, fraction=0.03, pad=0.01, label="attribution (+ raises risk)")
    fig.tight_layout()
    return fig


def cohort_figure(cohort: pd.DataFrame, title: str, n: int = 15) -> plt.Figure:
    """Horizontal bars: mean |attribution| per patient of the cohort's top ``n`` variables."""
    shown = cohort.head(n).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(shown) + 1.2))
    ax.barh(shown["variable"], shown["mean_abs_attribution"], color="tab:blue")
    ax.set_xlabel("mean |attribution| per patient")
    ax.set_title(title)
    fig.tight_layout()
    return fig
