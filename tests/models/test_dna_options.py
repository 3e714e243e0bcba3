"""DNA-specific model options: reverse complement handling and the convolutional front-end."""

from __future__ import annotations

import pytest
import torch

from seqhealth.batching.collate import pad_collate
from seqhealth.genomics.alphabet import decode, encode
from seqhealth.models.components import (
    ConvFrontEnd,
    SequenceEncoder,
    random_reverse_complement,
    reverse_complement,
)
from seqhealth.models.module import SequenceModel


def _batch(seqs: list[str], pad_to: int | None = None) -> dict:
    batch = pad_collate([{"x": torch.as_tensor(encode(s)).long(), "y": torch.tensor(0), "length": len(s), "index": i}
                         for i, s in enumerate(seqs)])
    if pad_to and pad_to > batch["x"].shape[1]:
        extra = pad_to - batch["x"].shape[1]
        batch["x"] = torch.nn.functional.pad(batch["x"], (0, extra))
        batch["mask"] = torch.nn.functional.pad(batch["mask"], (0, extra))
    return batch


def test_reverse_complement_of_tokens_within_each_length():
    batch = _batch(["AACGTN", "GGA"])
    rc = reverse_complement(batch["x"], batch["lengths"])
    assert decode(rc[0]) == "NACGTT"
    assert decode(rc[1]) == "TCC"
    assert rc[1, 3:].tolist() == [0, 0, 0]  # padding stays at the end
    assert torch.equal(reverse_complement(rc, batch["lengths"]), batch["x"])


def test_random_reverse_complement_flips_whole_sequences():
    torch.manual_seed(0)
    batch = _batch(["AAAC"] * 200)
    out = random_reverse_complement(batch["x"], batch["lengths"], p=0.5)
    strands = {decode(row) for row in out}
    assert strands == {"AAAC", "GTTT"}
    flipped = sum(decode(row) == "GTTT" for row in out)
    assert 60 < flipped < 140


def test_conv_front_end_pools_lengths_and_ignores_padding():
    torch.manual_seed(0)
    front = ConvFrontEnd(input_size=6, channels=5, kernel=5, pool=3)
    h = torch.randn(2, 10, 6)
    lengths = torch.tensor([10, 7])
    out, pooled = front(h, lengths)
    assert pooled.tolist() == [4, 3]
    assert out.shape == (2, 4, 5)
    garbage = h.clone()
    garbage[1, 7:] = 1e3  # whatever sits in the padding must not reach a valid output
    longer = torch.cat([garbage, torch.randn(2, 5, 6)], dim=1)
    out_longer, _ = front(longer, lengths)
    assert torch.allclose(out_longer[1, :3], out[1, :3], atol=1e-6)
    assert torch.allclose(out_longer[0, :4], out[0, :4], atol=1e-6)
    with pytest.raises(ValueError):
        ConvFrontEnd(6, 5, kernel=4)


def test_encoder_with_conv_front_end_is_unchanged_by_extra_padding():
    torch.manual_seed(0)
    encoder = SequenceEncoder("tokens", embedding_dim=0, cell="gru", hidden_size=4, num_layers=1,
                              conv_channels=8, conv_kernel=3, conv_pool=2).eval()
    batch = _batch(["ACGTACGTAC", "GGCAT"])
    padded = _batch(["ACGTACGTAC", "GGCAT"], pad_to=17)
    out, final = encoder(batch["x"], batch["lengths"])
    out_padded, final_padded = encoder(padded["x"], padded["lengths"])
    assert out.shape[1] == 5 and out_padded.shape[1] == 9
    assert torch.allclose(final, final_padded, atol=1e-6)
    assert torch.allclose(out, out_padded[:, :5], atol=1e-6)
    assert encoder.output_lengths(batch["lengths"]).tolist() == [5, 3]


@torch.no_grad()
@pytest.mark.parametrize("pooling", ["mean", "attention", "last"])
def test_rc_invariant_model_gives_both_strands_the_same_probabilities(pooling):
    torch.manual_seed(0)
    model = SequenceModel(task_kind="sequence", n_classes=3, embedding_dim=8, cell="gru", hidden_size=6,
                          num_layers=1, head_pooling=pooling, conv_channels=4, conv_kernel=3, conv_pool=2,
                          rc_invariant=True).eval()
    seqs = ["AACGTTTGCAGG", "CCGTA"]
    rcs = [s[::-1].translate(str.maketrans("ACGT", "TGCA")) for s in seqs]
    forward = torch.stack([torch.as_tensor(p) for p in model.predict_step(_batch(seqs), 0)])
    reverse = torch.stack([torch.as_tensor(p) for p in model.predict_step(_batch(rcs), 0)])
    assert torch.allclose(forward, reverse, atol=1e-5)
    plain = SequenceModel(task_kind="sequence", n_classes=3, embedding_dim=8, cell="gru", hidden_size=6,
                          num_layers=1, head_pooling=pooling).eval()
    p_forward = torch.stack([torch.as_tensor(p) for p in plain.predict_step(_batch(seqs), 0)])
    p_reverse = torch.stack([torch.as_tensor(p) for p in plain.predict_step(_batch(rcs), 0)])
    assert not torch.allclose(p_forward, p_reverse, atol=1e-5)  # without the option they differ


def test_rc_options_are_refused_where_they_make_no_sense():
    with pytest.raises(ValueError, match="tokens"):
        SequenceModel(task_kind="sequence", n_classes=2, input_kind="features", input_size=3, rc_augment=True)
    with pytest.raises(ValueError, match="sequence"):
        SequenceModel(task_kind="tagging", n_classes=1, rc_invariant=True)
    with pytest.raises(ValueError, match="conv_pool"):
        SequenceModel(task_kind="tagging", n_classes=1, conv_channels=4, conv_pool=2)


def test_rc_augmented_training_step_sees_a_random_strand(monkeypatch):
    torch.manual_seed(0)
    model = SequenceModel(task_kind="sequence", n_classes=2, embedding_dim=4, hidden_size=4, num_layers=1,
                          rc_augment=True)
    seen = []
    monkeypatch.setattr(model, "_step", lambda batch: (seen.append(batch["x"].clone()), (torch.tensor(0.0), None,
                                                                                            torch.zeros(1)))[1])
    monkeypatch.setattr(model, "log", lambda *a, **k: None)
    batch = _batch(["AAAAAC"] * 64)
    model.training_step(batch, 0)
    strands = {decode(row) for row in seen[0]}
    assert strands == {"AAAAAC", "GTTTTT"}
