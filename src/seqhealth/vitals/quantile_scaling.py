"""Rank-based ("quantile-normal") scaling of vital signs and labs, an option to the z-score.

ICU variables are heavy-tailed: on the 2019 sample HospAdmTime spans -24 to +0.3 standard
deviations, WBC and Platelets reach +22 to +26, so a z-score squeezes most patients into a sliver
around 0 while a few outliers dominate a recurrent model's input. Mapping each value to its rank
among the TRAINING patients' observed values, then to the standard normal quantile of that rank,
keeps every input within about +-3 and puts the clinically different values (a HospAdmTime of
-2 h vs -200 h) apart, as a tree model sees them. scikit-learn's ``QuantileTransformer`` does the
same on a matrix without missing values; here each variable has its own observed values and the
fitted knots must travel in the model bundle as plain numbers, hence these few lines.

Knots: ``N_KNOTS`` quantiles of each variable's observed training values; repeated values (binary
or coarse variables) share one knot at the mean level of the quantiles they cover. A value maps
to its level by linear interpolation between knots (clamped at the ends), then to
``ndtri(level)`` with the level kept within [``EPSILON``, 1 - ``EPSILON``].
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

N_KNOTS = 101
EPSILON = 1e-3  # |z| <= 3.09


def fit_knots(columns: list[np.ndarray]) -> list[dict]:
    """Per variable, ``{"x": knots, "level": levels}`` of its observed training values (one array
    per variable); a variable never observed gets one knot (every value maps to z = 0)."""
    levels = np.linspace(0.0, 1.0, N_KNOTS)
    out = []
    for values in columns:
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            out.append({"x": [0.0], "level": [0.5]})
            continue
        knots = np.quantile(values, levels)
        unique, inverse = np.unique(knots, return_inverse=True)
        mean_level = np.bincount(inverse, weights=levels) / np.bincount(inverse)
        out.append({"x": unique.tolist(), "level": mean_level.tolist()})
    return out


def quantile_normal(values: np.ndarray, knots: list[dict]) -> np.ndarray:
    """``values [N, V]`` (NaN = missing, kept) -> standard-normal scores of their training ranks."""
    out = np.full(values.shape, np.nan, dtype=np.float64)
    for column, knot in enumerate(knots):
        present = ~np.isnan(values[:, column])
        level = np.interp(values[present, column], np.asarray(knot["x"]), np.asarray(knot["level"]))
        out[present, column] = ndtri(np.clip(level, EPSILON, 1.0 - EPSILON))
    return out
