"""Bidirectional RNN encoder that never lets padding reach a hidden state, and heads.

The encoder is built from single-layer, single-direction ``nn.LSTM``/``nn.GRU`` modules.
Forward direction: run on the padded tensor; outputs at valid positions only depend on
earlier valid positions, so they are exact. Reverse direction: each sequence is reversed
WITHIN ITS OWN LENGTH (index ``length-1-t`` for ``t < length``; padding stays at the end), run
forward, and reversed back. This equals ``pack_padded_sequence`` results (to float rounding)
while using the fast padded kernels: packing was ~70x slower on CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

_RNN_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse ``x [B, T, ...]`` along time inside each sequence's length; padding stays put.

    Applying it twice gives ``x`` back.
    """
    batch, t_max = x.shape[0], x.shape[1]
    positions = torch.arange(t_max, device=x.device).unsqueeze(0).expand(batch, t_max)
    lengths = lengths.to(x.device).unsqueeze(1)
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)
    index = index.view(batch, t_max, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 1, index)


def _pad_mask(lengths: torch.Tensor, t_max: int, device) -> torch.Tensor:
    return torch.arange(t_max, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


# Token complement (alphabet: PAD=0, A=1, C=2, G=3, T=4, N=5): A<->T, C<->G; PAD and N stay.
_COMPLEMENT = (0, 4, 3, 2, 1, 5)


def reverse_complement(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse complement of DNA tokens ``[B, T]`` within each length; padding stays at the end."""
    complement = torch.tensor(_COMPLEMENT, dtype=x.dtype, device=x.device)[x.long()]
    return reverse_within_length(complement, lengths)


def random_reverse_complement(x: torch.Tensor, lengths: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Each sequence replaced by its reverse complement with probability ``p`` (augmentation for
    sequences that come in either orientation, e.g. ITS markers; not for stranded windows)."""
    flip = torch.rand(x.shape[0], device=x.device) < p
    return torch.where(flip.unsqueeze(1), reverse_complement(x, lengths), x)


class ConvFrontEnd(nn.Module):
    """DanQ-style front-end: Conv1d (motif detectors) + ReLU + optional max-pool before the RNN.

    Padding never changes a valid output: inputs are zeroed beyond each length (as the conv's
    own zero padding would), conv outputs there are zeroed after the ReLU, and pooling windows
    start at position 0, so a pooled position only ever sees its own window (length becomes
    ``ceil(length / pool)``).
    """

    def __init__(self, input_size: int, channels: int, kernel: int = 9, pool: int = 1):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"conv_kernel must be an odd number >= 1, got {kernel}")
        if pool < 1:
            raise ValueError(f"conv_pool must be >= 1, got {pool}")
        self.conv = nn.Conv1d(input_size, channels, kernel, padding=kernel // 2)
        self.pool = pool
        self.output_size = channels

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths + self.pool - 1, self.pool, rounding_mode="floor")

    def forward(self, h: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = _pad_mask(lengths, h.shape[1], h.device).unsqueeze(-1)
        h = F.relu(self.conv((h * mask).transpose(1, 2))).transpose(1, 2) * mask
        if self.pool > 1:
            h = F.max_pool1d(h.transpose(1, 2), self.pool, self.pool, ceil_mode=True).transpose(1, 2)
        return h, self.output_lengths(lengths)


class SequenceEncoder(nn.Module):
    """Tokens ``[B, T]`` or features ``[B, T, F]`` -> ``(outputs [B, T, H*dirs], final [B, H*dirs])``.

    ``outputs`` are zero at padded positions; ``final`` is the forward state at ``length-1``
    concatenated with the backward state at position 0.
    """

    def __init__(
        self,
        input_kind: str = "tokens",
        vocab_size: int = 6,
        input_size: int | None = None,
        embedding_dim: int = 16,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.1,
        bidirectional: bool = True,
        use_packing: bool = False,
        kmer_size: int = 1,
        conv_channels: int = 0,
        conv_kernel: int = 9,
        conv_pool: int = 1,
    ):
        super().__init__()
        if input_kind not in ("tokens", "features"):
            raise ValueError(f"input_kind must be 'tokens' or 'features', got {input_kind!r}")
        if cell not in _RNN_CELLS:
            raise ValueError(f"cell must be one of {sorted(_RNN_CELLS)}, got {cell!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.input_kind, self.cell = input_kind, cell
        self.vocab_size, self.embedding_dim = vocab_size, embedding_dim
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.bidirectional, self.use_packing = bidirectional, use_packing
        self.num_directions = 2 if bidirectional else 1
        if kmer_size < 1 or kmer_size % 2 == 0:
            raise ValueError(f"kmer_size must be an odd number >= 1, got {kmer_size}")
        self.kmer_size = kmer_size
        if input_kind == "tokens" and kmer_size > 1:
            # Each position sees the k-mer centred on it (a codon for k=3) through one embedding
            # lookup: reading frames and stop codons become visible to the first layer directly.
            embedding_dim = embedding_dim or 16
            self.embedding = nn.Embedding(vocab_size**kmer_size, embedding_dim)
            rnn_input = embedding_dim
        elif input_kind == "tokens":
            if embedding_dim > 0:
                self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
                rnn_input = embedding_dim
            else:
                self.embedding = None  # one-hot: a 4-letter alphabet needs no embedding
                rnn_input = vocab_size
        else:
            if not input_size:
                raise ValueError("input_kind='features' needs input_size (number of features)")
            self.embedding = None
            rnn_input = input_size
        self.input_size = rnn_input
        # conv_channels > 0: a convolutional front-end between the embedding and the RNN.
        self.front = ConvFrontEnd(rnn_input, conv_channels, conv_kernel, conv_pool) if conv_channels else None
        if self.front is not None:
            rnn_input = self.front.output_size
        rnn_class = _RNN_CELLS[cell]
        self.layers = nn.ModuleList()
        for layer in range(num_layers):
            layer_input = rnn_input if layer == 0 else hidden_size * self.num_directions
            self.layers.append(nn.ModuleList(
                rnn_class(layer_input, hidden_size, batch_first=True)
                for _ in range(self.num_directions)
            ))
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden_size * self.num_directions

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_kind == "features":
            return x.float()
        if self.kmer_size > 1:
            return self.embedding(self.kmer_ids(x.long()))
        if self.embedding is not None:
            return self.embedding(x.long())
        return F.one_hot(x.long(), self.vocab_size).float()

    def kmer_ids(self, x: torch.Tensor) -> torch.Tensor:
        """Id of the k-mer centred on each position; bases beyond either end count as PAD (0),
        and padding is always 0, so extra padding never changes a valid position's id."""
        half = self.kmer_size // 2
        padded = F.pad(x, (half, half), value=0)
        ids = torch.zeros_like(x)
        for offset in range(self.kmer_size):
            ids = ids * self.vocab_size + padded[:, offset : offset + x.shape[1]]
        return ids

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Lengths of ``outputs`` (shorter than the input's only with a pooling front-end)."""
        return lengths if self.front is None else self.front.output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        h = self.embed(x)
        if self.front is not None:
            h, lengths = self.front(h, lengths)
            h = self.dropout(h)
        mask = _pad_mask(lengths, h.shape[1], h.device)
        if self.use_packing:
            outputs = self._forward_packed(h, lengths)
        else:
            outputs = self._forward_reversal(h, lengths)
        outputs = outputs * mask.unsqueeze(-1)
        return outputs, self.final_states(outputs, lengths)

    def _forward_reversal(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for i, directions in enumerate(self.layers):
            if i > 0:
                h = self.dropout(h)  # between layers, as nn.LSTM(dropout=...) does
            forward_out, _ = directions[0](h)
            if self.bidirectional:
                reversed_in = reverse_within_length(h, lengths)
                backward_out, _ = directions[1](reversed_in)
                h = torch.cat([forward_out, reverse_within_length(backward_out, lengths)], -1)
            else:
                h = forward_out
        return h

    def reference_rnn(self) -> nn.Module:
        """An empty multi-layer ``nn.LSTM``/``nn.GRU`` shaped like this encoder."""
        return _RNN_CELLS[self.cell](self.layers[0][0].input_size, self.hidden_size, self.num_layers,
                                     batch_first=True, bidirectional=self.bidirectional,
                                     dropout=self.dropout.p if self.num_layers > 1 else 0.0)

    def reference_parameters(self) -> dict[str, torch.Tensor]:
        """This encoder's weights under ``nn.LSTM``/``nn.GRU`` multi-layer parameter names."""
        params = {}
        for i, directions in enumerate(self.layers):
            for d, rnn in enumerate(directions):
                suffix = "_reverse" if d == 1 else ""
                for name, value in rnn.named_parameters():
                    params[name.replace("_l0", f"_l{i}") + suffix] = value
        return params

    def _forward_packed(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # Same parameters, run through cuDNN/ATen's packed multi-layer kernel (comparison path;
        # lengths must be on CPU for pack_padded_sequence).
        if not hasattr(self, "_reference"):
            object.__setattr__(self, "_reference", self.reference_rnn().to(h.device))
        reference = self._reference
        reference.train(self.training)
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = functional_call(reference, self.reference_parameters(), (packed,))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
        return out

    def final_states(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        batch = outputs.shape[0]
        last = (lengths.to(outputs.device) - 1).clamp(min=0)
        forward_last = outputs[torch.arange(batch, device=outputs.device), last, : self.hidden_size]
        if not self.bidirectional:
            return forward_last
        return torch.cat([forward_last, outputs[:, 0, self.hidden_size:]], -1)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(values.dtype)
    return (values * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class SequenceHead(nn.Module):
    """One prediction per sequence from the encoder outputs (padding excluded)."""

    def __init__(self, input_size: int, n_outputs: int, pooling: str = "mean", skip_size: int = 0):
        super().__init__()
        if pooling not in ("mean", "attention", "last"):
            raise ValueError(f"pooling must be mean|attention|last, got {pooling!r}")
        self.pooling = pooling
        self.score = nn.Linear(input_size, 1) if pooling == "attention" else None
        self.out = nn.Linear(input_size + skip_size, n_outputs)

    def forward(self, outputs: torch.Tensor, mask: torch.Tensor, final: torch.Tensor,
                skip: torch.Tensor | None = None):
        """``skip [B, skip_size]``: features given to the output layer next to the pooled state."""
        if self.pooling == "mean":
            pooled = masked_mean(outputs, mask)
        elif self.pooling == "attention":
            scores = self.score(outputs).squeeze(-1).masked_fill(~mask, float("-inf"))
            attention = torch.softmax(scores, dim=1)
            pooled = (attention.unsqueeze(-1) * outputs).sum(1)
        else:
            pooled = final
        if skip is not None:
            pooled = torch.cat([pooled, skip], dim=-1)
        return self.out(pooled)


class PositionHead(nn.Module):
    """One prediction per position ``[B, T, n_outputs]``."""

    def __init__(self, input_size: int, n_outputs: int):
        super().__init__()
        self.out = nn.Linear(input_size, n_outputs)

    def forward(self, outputs: torch.Tensor, mask: torch.Tensor | None = None, final=None):
        return self.out(outputs)
