"""The wide features of the wide-and-deep DNA classifier (models/wide.py): they are the ones the
biologist's baselines use, padding never changes them, and the model's head reads them."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqhealth.batching.collate import pad_collate
from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.baselines import kmer_profiles, positional_one_hot
from seqhealth.models.module import SequenceModel
from seqhealth.models.wide import WideFeatures


def _batch(sequences: list[str], pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    tokens = [torch.as_tensor(encode(s), dtype=torch.long) for s in sequences]
    t_max = pad_to or max(len(t) for t in tokens)
    x = torch.zeros(len(tokens), t_max, dtype=torch.long)
    for i, t in enumerate(tokens):
        x[i, : len(t)] = t
    return x, torch.tensor([len(t) for t in tokens])


def _features(wide: WideFeatures, x: torch.Tensor) -> torch.Tensor:
    return wide(F.one_hot(x, 6).float(), x)


def test_wide_features_equal_the_baselines_features():
    sequences = ["ACGTNACGGT", "TTGACCANGT"]
    samples = [{"x": encode(s), "y": 0, "length": len(s)} for s in sequences]
    x, _ = _batch(sequences)
    positional = _features(WideFeatures(positions=10), x).numpy()
    np.testing.assert_array_equal(positional, positional_one_hot(samples))
    for k in (1, 3):
        profile = _features(WideFeatures(kmer_sizes=[k]), x).numpy()
        # both strands counted, frequencies scaled by 4**k (observed / uniform-expected)
        np.testing.assert_allclose(profile / 4**k, kmer_profiles(samples, k).toarray(), rtol=1e-6)


def test_kmer_profile_is_strand_symmetric_and_padding_invariant():
    wide = WideFeatures(positions=12, kmer_sizes=[2, 4])
    sequence = "ACCGTTAGCANTGCA"
    reverse = sequence[::-1].translate(str.maketrans("ACGTN", "TGCAN"))
    x, _ = _batch([sequence, reverse])
    short, padded = _features(wide, x), _features(wide, _batch([sequence, reverse], pad_to=40)[0])
    torch.testing.assert_close(short, padded)  # extra padding changes nothing
    kmers = slice(12 * 5, None)
    torch.testing.assert_close(short[0, kmers], short[1, kmers])  # a k-mer and its reverse complement
    # positions beyond a shorter sequence's length read as nothing, not as a base
    tail = _features(WideFeatures(positions=20), _batch(["ACGT"])[0])
    assert tail[0, :20].sum() == 4 and tail[0, 20:].sum() == 0


def test_model_head_reads_the_wide_features_and_gradients_reach_them():
    torch.manual_seed(0)
    model = SequenceModel(task_kind="sequence", n_classes=3, embedding_dim=0, hidden_size=4, num_layers=1,
                          sequence_length=8, wide_onehot=True, wide_kmer_size=3)
    assert model.wide.output_size == 8 * 5 + 64
    assert model.head.out.in_features == model.encoder.output_size + 8 * 5 + 64
    batch = pad_collate([{"x": encode(s), "y": 0, "length": 8} for s in ("ACGTACGT", "GGGTTTAC")])
    model.eval()
    with torch.no_grad():
        before = model(batch["x"], batch["lengths"], batch["mask"])
        # Only the wide weight of base G at position 0 changes: exactly the sequence holding it moves.
        weight = model.head.out.weight
        weight[:, model.encoder.output_size + 0 * 5 + 2] += 5.0
        after = model(batch["x"], batch["lengths"], batch["mask"])
    assert torch.allclose(before[0], after[0]) and not torch.allclose(before[1], after[1])
    # one-hot encoder: the wide path reads the encoder's own input, so its gradient flows there
    embedded = model.encoder.embed(batch["x"]).requires_grad_(True)
    model.encoder.embed = lambda tokens: embedded
    model(batch["x"], batch["lengths"], batch["mask"]).sum().backward()
    assert embedded.grad is not None and embedded.grad[0, 3].abs().sum() > 0


def test_positional_kmers_one_hot_the_kmer_starting_at_each_position():
    wide = WideFeatures(positions=5, position_max_k=2)
    assert wide.output_size == 5 * 5 + 4 * 16
    x, _ = _batch(["ACGTA", "ANGT"], pad_to=5)
    pairs = _features(wide, x)[:, 25:].reshape(2, 4, 16)
    # A,C,G,T = 0..3; the pair id is 4 * first + second: AC=1, CG=6, GT=11, TA=12
    assert pairs[0].argmax(-1).tolist() == [1, 6, 11, 12] and pairs[0].sum() == 4
    # a pair holding N or reaching past the sequence's end is no pair at all
    assert pairs[1].sum(-1).tolist() == [0, 0, 1, 0] and pairs[1, 2, 11] == 1
    torch.testing.assert_close(_features(wide, x), _features(wide, _batch(["ACGTA", "ANGT"], pad_to=9)[0]))


@pytest.mark.filterwarnings(r"ignore:You are trying to `self.log\(\)`")
def test_wide_l2_penalises_the_wide_weights_only_in_training():
    torch.manual_seed(0)
    kwargs = dict(task_kind="sequence", n_classes=3, embedding_dim=0, hidden_size=4, num_layers=1, wide_kmer_size=2)
    plain, penalised = SequenceModel(**kwargs), SequenceModel(**kwargs, wide_l2=0.5)
    penalised.load_state_dict(plain.state_dict())
    batch = pad_collate([{"x": encode(s), "y": i, "length": len(s)} for i, s in enumerate(("ACGTAC", "GGGTTTA"))])
    wide_weights = plain.head.out.weight[:, -16:]
    expected = plain.training_step(batch, 0) + 0.5 * wide_weights.pow(2).sum()
    torch.testing.assert_close(penalised.training_step(batch, 0), expected)
