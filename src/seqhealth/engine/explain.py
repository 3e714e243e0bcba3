"""Attribution machinery over a ``SequenceModel`` (plain Python: no Kedro, no task names).

* ``ism_effects``: in-silico mutagenesis of DNA tokens. Every position is replaced by each of the
  four bases; the mutants of one sequence are scored in batches on the explanation device and the
  change of a scalar score against the reference sequence forms a ``4 x L`` effect map (0 where
  the "mutant" is the reference base itself).
* ``gradient_x_input``: gradient of the same score with respect to the model's embedded input,
  times that input, summed over the embedding: the one-pass approximation of ISM.
* ``integrated_gradients``: Captum's ``IntegratedGradients`` over a feature-input model (vitals),
  with the completeness gap (sum of attributions minus (output - baseline output)) reported.

A *score* is ``score(logits, lengths) -> Tensor[B]``: what is explained (a class probability, the
mean coding probability of a region, the risk at one hour); the caller chooses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import torch

from seqhealth.models.module import SequenceModel

Score = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Featurize = Callable[[np.ndarray], np.ndarray]  # DNA tokens int[L] -> the model's features float[L, F]
BASE_TOKENS = (1, 2, 3, 4)  # A C G T in seqhealth.genomics.alphabet
BASES = "ACGT"


# Explanations cost far more than predictions (ISM scores 3 L mutants of every L-base record; IG
# runs ``ig_steps`` forward/backward passes per patient), so on top of the prediction limits a
# request to explain has these (``explain.limits`` / the served model's limits override them).
EXPLAIN_LIMITS = {"max_record_bases": 10_000, "max_units": 1_000}


class ExplanationError(ValueError):
    """An explanation cannot be computed as asked; the message names the problem."""


def chosen_units(available: list[str], wanted, unit: str) -> list[str]:
    """``available`` units in order, restricted to ``wanted`` (ids, or one string of them)
    when given; an id that is not there is an error naming it."""
    if wanted is None or (isinstance(wanted, str) and not wanted.strip()):
        return list(available)
    if isinstance(wanted, str):  # "a;b" (kedro --params splits on commas), "a b" or "a,b"
        wanted = [w for w in re.split(r"[;,\s]+", wanted) if w]
    else:
        wanted = [str(w) for w in (wanted if isinstance(wanted, list | tuple) else [wanted])]
    unknown = [w for w in wanted if w not in set(available)]
    if unknown:
        shown = ", ".join(available[:10]) + (" ..." if len(available) > 10 else "")
        raise ExplanationError(f"unknown {unit} id(s) {unknown[:10]} in explain.ids; the input holds {len(available)}: {shown}")
    return [a for a in available if a in set(wanted)]


def check_explain_limits(sizes: dict[str, int], unit: str, limits: dict | None) -> None:
    """``sizes``: unit id -> bases (DNA) or steps; refuses more units than ``max_units`` and
    (DNA) a record longer than ``max_record_bases``, naming it."""
    limits = {**EXPLAIN_LIMITS, **(limits or {})}
    if len(sizes) > int(limits["max_units"]):
        raise ExplanationError(f"{len(sizes)} {unit}s to explain, more than the limit of {limits['max_units']}; "
                               "choose some with explain.ids or split the input")  # fmt: skip
    if unit == "record":
        too_long = {k: n for k, n in sizes.items() if n > int(limits["max_record_bases"])}
        if too_long:
            name, n = next(iter(too_long.items()))
            raise ExplanationError(
                f"record {name!r} has {n} bases, more than the explanation limit of {limits['max_record_bases']} "
                f"per record (in-silico mutagenesis scores 3 x {n} mutants); explain a shorter region"
            )


def explain_device(device: str | None = None) -> torch.device:
    """The requested device, else the accelerator when there is one, else the CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _mask(lengths: torch.Tensor, t_max: int) -> torch.Tensor:
    return torch.arange(t_max, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def _logits(model: SequenceModel, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of equal-length (unpadded) inputs ``x [B, L(, F)]`` and their lengths."""
    lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
    return model(x, lengths, _mask(lengths, x.shape[1])), lengths


@torch.no_grad()
def sequence_scores(model: SequenceModel, tokens: torch.Tensor, score: Score) -> torch.Tensor:
    """``score`` of a batch of equal-length token sequences ``[B, L]`` (already on the model's device)."""
    logits, lengths = _logits(model, tokens)
    return score(logits, lengths)


@torch.no_grad()
def ism_effects(model: SequenceModel, tokens: np.ndarray, score: Score, batch_size: int = 512,
                device: str | torch.device | None = None,
                featurize: Featurize | None = None) -> tuple[float, np.ndarray]:  # fmt: skip
    """``(reference score, effects float32[4, L])``: ``effects[b, i]`` = score with base
    ``BASES[b]`` at position ``i`` minus the reference score (0 for the reference base itself).

    The ``3 L`` (``4 L`` at ``N`` positions) mutants are built and scored on ``device`` in batches
    of ``batch_size`` sequences. A model reading features derived from the whole sequence (e.g.
    ORF lengths) gets ``featurize(mutant tokens)`` of every mutant: a base change can alter
    those features far from it, which is part of its effect."""
    device = explain_device(str(device) if device is not None else None)
    model = model.to(device).eval()
    if featurize is not None:
        return _ism_effects_featurized(model, np.asarray(tokens, dtype=np.int64), score, batch_size, device, featurize)
    reference = torch.as_tensor(np.asarray(tokens, dtype=np.int64), device=device)
    length = int(reference.numel())
    ref_score = float(sequence_scores(model, reference.unsqueeze(0), score)[0])
    positions = torch.arange(length, device=device).repeat_interleave(len(BASE_TOKENS))
    bases = torch.tensor(BASE_TOKENS, device=device).repeat(length)
    keep = reference[positions] != bases  # the reference base is no mutation
    positions, bases = positions[keep], bases[keep]
    effects = torch.zeros(len(BASE_TOKENS), length, dtype=torch.float32, device=device)
    for start in range(0, len(positions), batch_size):
        pos, base = positions[start : start + batch_size], bases[start : start + batch_size]
        mutants = reference.unsqueeze(0).repeat(len(pos), 1)
        mutants[torch.arange(len(pos), device=device), pos] = base
        effects[base - 1, pos] = sequence_scores(model, mutants, score).float() - ref_score
    return ref_score, effects.cpu().numpy()


def _single_mutants(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, bases)`` of every single-base substitution of ``reference``."""
    positions = np.repeat(np.arange(len(reference)), len(BASE_TOKENS))
    bases = np.tile(np.asarray(BASE_TOKENS), len(reference))
    keep = reference[positions] != bases
    return positions[keep], bases[keep]


@torch.no_grad()
def _ism_effects_featurized(model: SequenceModel, reference: np.ndarray, score: Score, batch_size: int,
                            device: torch.device, featurize: Featurize) -> tuple[float, np.ndarray]:  # fmt: skip
    """``ism_effects`` of a model reading ``featurize(tokens)``: mutants are built and featurized
    on the CPU (the features are NumPy code), then scored on ``device`` in batches."""

    def scores(batch: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(np.stack([featurize(t) for t in batch]), dtype=torch.float32, device=device)
        return sequence_scores(model, x, score).float().cpu()

    ref_score = float(scores(reference[None])[0])
    positions, bases = _single_mutants(reference)
    effects = np.zeros((len(BASE_TOKENS), len(reference)), dtype=np.float32)
    for start in range(0, len(positions), batch_size):
        pos, base = positions[start : start + batch_size], bases[start : start + batch_size]
        mutants = np.repeat(reference[None], len(pos), axis=0)
        mutants[np.arange(len(pos)), pos] = base
        effects[base - 1, pos] = scores(mutants).numpy() - ref_score
    return ref_score, effects


def gradient_x_input(model: SequenceModel, tokens: np.ndarray, score: Score,
                     device: str | torch.device | None = None,
                     featurize: Featurize | None = None) -> np.ndarray:  # fmt: skip
    """float32[L]: gradient of ``score`` at the embedded input times that input, summed over
    the embedding (one-hot inputs: the gradient at the base present; derived features: over
    every feature of the base)."""
    device = explain_device(str(device) if device is not None else None)
    model = model.to(device).eval()
    if featurize is not None:
        x = torch.as_tensor(featurize(np.asarray(tokens, dtype=np.int64)), dtype=torch.float32, device=device).unsqueeze(0)
    else:
        x = torch.as_tensor(np.asarray(tokens, dtype=np.int64), device=device).unsqueeze(0)
    encoder = model.encoder
    embedded = encoder.embed(x).detach().requires_grad_(True)
    original = encoder.embed
    # The model embeds ``x`` itself (in the encoder and, with input_skip, in the head): both
    # see the tensor whose gradient we take; any other input (a reverse complement) is embedded
    # as usual.
    encoder.embed = lambda tokens_: embedded if tokens_ is x else original(tokens_)
    try:
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            logits, lengths = _logits(model, x)
            (grad,) = torch.autograd.grad(score(logits, lengths).sum(), embedded)
    finally:
        del encoder.embed  # back to the class's method
    return (grad * embedded).sum(-1)[0].detach().float().cpu().numpy()


def integrated_gradients(model: SequenceModel, features: np.ndarray, score: Score, baseline: np.ndarray | None = None,
                         n_steps: int = 64, internal_batch_size: int = 64,
                         device: str | torch.device | None = None) -> dict:  # fmt: skip
    """Captum ``IntegratedGradients`` of ``score`` for one feature sequence ``float32[T, F]``.

    Returns ``{"attributions": float32[T, F], "output", "baseline_output", "delta"}`` where
    ``delta`` = sum(attributions) - (output - baseline_output) is the completeness gap (Gauss-
    Legendre quadrature over ``n_steps`` points). The default baseline is all zeros: every value at
    the training mean, nothing observed, no time elapsed."""
    from captum.attr import IntegratedGradients

    device = explain_device(str(device) if device is not None else None)
    model = model.to(device).eval()
    x = torch.as_tensor(np.asarray(features, dtype=np.float32), device=device).unsqueeze(0)
    base = torch.zeros_like(x) if baseline is None else torch.as_tensor(baseline, dtype=torch.float32, device=device).unsqueeze(0)

    def forward(inputs: torch.Tensor) -> torch.Tensor:
        logits, lengths = _logits(model, inputs)
        return score(logits, lengths)

    with torch.backends.cudnn.flags(enabled=False):  # cuDNN RNNs have no backward in eval mode
        attributions, delta = IntegratedGradients(forward).attribute(
            x, baselines=base, n_steps=n_steps, internal_batch_size=internal_batch_size,
            return_convergence_delta=True,
        )  # fmt: skip
        with torch.no_grad():
            output, baseline_output = float(forward(x)[0]), float(forward(base)[0])
    return {
        "attributions": attributions[0].detach().float().cpu().numpy(),
        "output": output,
        "baseline_output": baseline_output,
        "delta": float(delta.reshape(-1)[0]),
    }


# ------------------------------------------------------------------------------- scores
def class_probability(class_index: int, n_outputs: int) -> Score:
    """P(class) of a sequence classifier (one sigmoid output = a binary model's positive class)."""

    def score(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if n_outputs == 1:
            p = torch.sigmoid(logits.reshape(len(logits), -1)[:, 0])
            return p if class_index == 1 else 1 - p
        return torch.softmax(logits, -1)[:, class_index]

    return score


def region_mean(start: int, end: int, per_position: Callable[[torch.Tensor], torch.Tensor]) -> Score:
    """Mean over positions ``[start, end)`` of a per-position score of tagging logits."""

    def score(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return per_position(logits[:, start:end]).mean(1)

    return score


def step_output(step: int, probability: bool = True) -> Score:
    """A binary tagging model's output at ``step`` (probability or logit)."""

    def score(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        value = logits[:, step].reshape(len(logits), -1)[:, 0]
        return torch.sigmoid(value) if probability else value

    return score


def sequence_output(probability: bool = True) -> Score:
    """A binary sequence model's single output (probability or logit)."""

    def score(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        value = logits.reshape(len(logits), -1)[:, 0]
        return torch.sigmoid(value) if probability else value

    return score
