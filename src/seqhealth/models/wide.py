"""The "wide" half of a wide-and-deep DNA classifier: fixed features read straight into the head.

A biologist's first classifiers (positional one-hot + logistic regression for aligned windows,
k-mer profiles + logistic regression for markers; ``genomics.baselines``) are linear in these
features. Giving the same features to the model's output layer, next to the recurrent
summary, lets the model start from what those baselines know while the RNN learns the rest.

* positional one-hot: A/C/G/T/N at each of the first ``positions`` bases (zero beyond a
  sequence's length), for inputs of one common length such as splice-site windows; with
  ``position_max_k`` > 1 also the one-hot of the k-mer (k = 2..position_max_k) starting at
  each of them: the pairs of neighbouring bases a splice site is read by (e.g. GT, AG);
* k-mer profiles: for each ``k``, the frequency of every k-mer over the sequence divided by its
  frequency under uniform bases (``4**k`` times the relative frequency, so a feature averages
  1 whatever ``k``); with ``both_strands`` each k-mer is counted together with its reverse
  complement, as markers such as ITS come in either orientation. k-mers holding N are skipped.

Features are computed from the one-hot input ``[B, T, V]`` (vocabulary PAD=0, A..T=1..4, N=5)
and the tokens: a window's count is the product of the one-hot entries of its bases (1 in the
forward pass), so gradients reach the bases present and gradient x input sees this path too.
Padding never changes a feature: padded tokens are PAD, whose one-hot column is dropped and
which no valid k-mer holds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_BASES = 4  # A, C, G, T = tokens 1..4


class WideFeatures(nn.Module):
    """``(one_hot [B, T, V], tokens [B, T]) -> [B, output_size]`` fixed (parameter-free) features."""

    def __init__(self, vocab_size: int = 6, positions: int = 0, kmer_sizes=(), both_strands: bool = True,
                 position_max_k: int = 1):
        super().__init__()
        self.position_kmers = tuple(range(2, int(position_max_k) + 1)) if positions else ()
        self.kmer_sizes = tuple(int(k) for k in kmer_sizes or ())
        if positions < 0 or any(k < 1 for k in self.kmer_sizes):
            raise ValueError(f"wide features need positions >= 0 and k >= 1, got {positions}, {self.kmer_sizes}")
        self.positions, self.both_strands = int(positions), both_strands
        self.position_width = vocab_size - 1  # every letter but PAD
        self.output_size = (self.positions * self.position_width + sum(_BASES**k for k in self.kmer_sizes)
                            + sum(max(0, self.positions - k + 1) * _BASES**k for k in self.position_kmers))

    def forward(self, one_hot: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.positions:
            parts.append(self.positional(one_hot))
            parts.extend(self.positional_kmers(one_hot, tokens, k) for k in self.position_kmers)
        parts.extend(self.kmer_profile(one_hot, tokens, k) for k in self.kmer_sizes)
        return torch.cat(parts, dim=-1)

    def positional(self, one_hot: torch.Tensor) -> torch.Tensor:
        """``[B, positions * (V-1)]``: the one-hot letters of the first ``positions`` bases."""
        letters = one_hot[:, : self.positions, 1:]
        missing = self.positions - letters.shape[1]
        if missing > 0:  # shorter inputs: nothing at the positions they do not reach
            letters = F.pad(letters, (0, 0, 0, missing))
        return letters.reshape(len(one_hot), -1)

    def positional_kmers(self, one_hot: torch.Tensor, tokens: torch.Tensor, k: int) -> torch.Tensor:
        """``[B, (positions-k+1) * 4**k]``: the one-hot k-mer starting at each position (zero for
        a k-mer holding N or reaching beyond the sequence)."""
        n_starts = self.positions - k + 1
        if n_starts < 1:
            return one_hot.new_zeros(len(one_hot), 0)
        ids, count = self._windows(one_hot[:, : self.positions], tokens[:, : self.positions], k)
        out = one_hot.new_zeros(len(one_hot), n_starts, _BASES**k)
        n = ids.shape[1]  # fewer starts than n_starts when the input is shorter
        out[:, :n] = out[:, :n].scatter_add(-1, ids.unsqueeze(-1), count.unsqueeze(-1))
        return out.reshape(len(one_hot), -1)

    @staticmethod
    def _windows(one_hot: torch.Tensor, tokens: torch.Tensor, k: int):
        """Per window of k bases: its k-mer id ``[B, W]`` and its count ``[B, W]`` (1 for a valid
        window, as the product of the one-hot entries of its bases so gradients reach them)."""
        windows = tokens.long().unfold(1, k, 1)  # [B, W, k]
        valid = ((windows >= 1) & (windows <= _BASES)).all(-1)
        base = (windows - 1).clamp(0, _BASES - 1)
        powers = _BASES ** torch.arange(k - 1, -1, -1, device=tokens.device)
        present = one_hot.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1)
        return (base * powers).sum(-1), present.unfold(1, k, 1).prod(-1) * valid

    def kmer_profile(self, one_hot: torch.Tensor, tokens: torch.Tensor, k: int) -> torch.Tensor:
        """``[B, 4**k]`` observed / uniform-expected k-mer frequencies (0 where none is valid)."""
        batch, n_kmers = tokens.shape[0], _BASES**k
        if tokens.shape[1] < k:
            return one_hot.new_zeros(batch, n_kmers)
        ids, count = self._windows(one_hot, tokens, k)
        profile = one_hot.new_zeros(batch, n_kmers).scatter_add(1, ids, count)
        if self.both_strands:  # the reverse complement's id: complemented bases, read backwards
            profile = profile.scatter_add(1, _reverse_complement_ids(ids, k), count)
        total = profile.detach().sum(1, keepdim=True).clamp(min=1.0)
        return profile / total * n_kmers


def _reverse_complement_ids(ids: torch.Tensor, k: int) -> torch.Tensor:
    """k-mer ids (base-4, first base most significant) of the reverse complements."""
    out = torch.zeros_like(ids)
    for _ in range(k):
        out = out * _BASES + (_BASES - 1 - ids % _BASES)
        ids = torch.div(ids, _BASES, rounding_mode="floor")
    return out
