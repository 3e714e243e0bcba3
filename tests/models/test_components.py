import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqhealth.models.components import SequenceEncoder, SequenceHead, reverse_within_length

LENGTHS = torch.tensor([11, 4, 7, 1, 9])


def _reference_outputs(encoder, h, lengths):
    """Torch's own multi-layer bidirectional RNN with packing, our weights copied in."""
    rnn_class = nn.LSTM if encoder.cell == "lstm" else nn.GRU
    rnn = rnn_class(encoder.input_size, encoder.hidden_size, encoder.num_layers,
                    batch_first=True, bidirectional=True)
    rnn.load_state_dict({k: v.detach().clone() for k, v in encoder.reference_parameters().items()})
    packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])[0]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_per_length_reversal_equals_packing(cell, num_layers):
    torch.manual_seed(0)
    encoder = SequenceEncoder("features", input_size=3, cell=cell, hidden_size=8,
                              num_layers=num_layers, dropout=0.3).eval()
    x = torch.randn(len(LENGTHS), int(LENGTHS.max()), 3)
    x[1, 4:] = 100.0  # garbage in padding must not matter
    outputs, final = encoder(x, LENGTHS)
    reference = _reference_outputs(encoder, x, LENGTHS)
    mask = torch.arange(x.shape[1]) < LENGTHS.unsqueeze(1)
    assert (outputs - reference)[mask].abs().max() <= 1e-5
    assert outputs[~mask].abs().max() == 0
    # final = forward state at length-1, backward state at 0
    for b, n in enumerate(LENGTHS.tolist()):
        assert torch.allclose(final[b, :8], reference[b, n - 1, :8], atol=1e-5)
        assert torch.allclose(final[b, 8:], reference[b, 0, 8:], atol=1e-5)
    encoder.use_packing = True
    packed_outputs, _ = encoder(x, LENGTHS)
    assert (packed_outputs - outputs)[mask].abs().max() <= 1e-5


def test_reverse_within_length_keeps_padding_and_is_involution():
    x = torch.arange(12).view(2, 6)
    lengths = torch.tensor([4, 6])
    r = reverse_within_length(x, lengths)
    assert r.tolist() == [[3, 2, 1, 0, 4, 5], [11, 10, 9, 8, 7, 6]]
    assert torch.equal(reverse_within_length(r, lengths), x)


def test_tokens_one_hot_and_attention_head_ignore_padding():
    torch.manual_seed(0)
    encoder = SequenceEncoder("tokens", embedding_dim=0, hidden_size=4, num_layers=1).eval()
    head = SequenceHead(encoder.output_size, 3, pooling="attention").eval()
    x = torch.tensor([[1, 2, 3, 0, 0], [4, 4, 1, 2, 5]])
    lengths = torch.tensor([3, 5])
    out, final = encoder(x, lengths)
    mask = torch.arange(5) < lengths.unsqueeze(1)
    short_out, short_final = encoder(x[:1, :3], lengths[:1])
    logits = head(out, mask, final)
    assert torch.allclose(logits[:1], head(short_out, mask[:1, :3], short_final), atol=1e-6)


def test_bad_configuration_raises():
    with pytest.raises(ValueError, match="input_size"):
        SequenceEncoder("features")
    with pytest.raises(ValueError, match="cell"):
        SequenceEncoder(cell="rnn")
