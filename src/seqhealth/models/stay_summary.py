"""Per-variable summary statistics of a vitals stay, read straight into the model's head.

What a hospital data team tries first on an ICU stay is a gradient-boosted or logistic model on
each variable's min / max / mean / first value and number of measurements over the window (on
PhysioNet 2012 set A, 5-fold CV: 0.862 / 0.842 AUROC, against 0.821-0.836 for the GRU alone).
Giving the head those statistics next to the recurrent summary (wide-and-deep, as ``wide.py``
does for DNA) lets the model start from what such a baseline knows.

Input ``x [B, T, F]`` is the vitals feature layout of ``vitals.features``: the first
``n_variables`` columns are the normalised carried-forward values; when the ``observed`` channel
is present (``observed_offset`` >= 0) its columns mark real measurements, else every valid step
counts as one. Per variable: mean, min, max and first of the observed values (0 = the training
mean when never observed) and log1p(number observed).

``running=True`` gives the statistics of the steps up to and including each step (causal, for
hourly early warning), ``[B, T, 5V]``; otherwise those of the whole window, ``[B, 5V]``.
"""

from __future__ import annotations

import torch
from torch import nn

N_STATISTICS = 5  # mean, min, max, first, log1p(count)


class StaySummary(nn.Module):
    """Parameter-free ``(x [B, T, F], mask [B, T]) -> [B, 5V]`` (or ``[B, T, 5V]`` running)."""

    def __init__(self, n_variables: int, observed_offset: int = -1, running: bool = False):
        super().__init__()
        if n_variables < 1:
            raise ValueError(f"stay summary needs n_variables >= 1, got {n_variables}")
        self.n_variables, self.observed_offset, self.running = int(n_variables), int(observed_offset), running
        self.output_size = N_STATISTICS * self.n_variables

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = self.n_variables
        values = x[..., :n]
        valid = mask.to(x.dtype).unsqueeze(-1)
        if self.observed_offset >= 0:
            observed = x[..., self.observed_offset : self.observed_offset + n] * valid
        else:
            observed = valid.expand_as(values)
        seen = observed > 0
        if self.running:
            count = observed.cumsum(1)
            total = (values * observed).cumsum(1)
            high = torch.where(seen, values, torch.finfo(x.dtype).min).cummax(1).values
            low = torch.where(seen, values, torch.finfo(x.dtype).max).cummin(1).values
            first_step = seen & (count == 1)
            first = (values * first_step).cumsum(1)
        else:
            count = observed.sum(1)
            total = (values * observed).sum(1)
            high = torch.where(seen, values, torch.finfo(x.dtype).min).amax(1)
            low = torch.where(seen, values, torch.finfo(x.dtype).max).amin(1)
            first_step = seen & (observed.cumsum(1) == 1)
            first = (values * first_step).sum(1)
        has = count > 0
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        mean = total / count.clamp(min=1.0)
        stats = [mean, torch.where(has, low, zero), torch.where(has, high, zero), first, torch.log1p(count)]
        return torch.cat(stats, dim=-1)
