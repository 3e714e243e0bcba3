import numpy as np
import pytest

from seqhealth.genomics.alphabet import (
    VOCAB_SIZE,
    InvalidBaseError,
    decode,
    encode,
    first_invalid,
    repair_counts,
)


def test_tokens_match_the_contract():
    assert VOCAB_SIZE == 6
    tokens = encode("ACGTN")
    assert tokens.dtype == np.uint8
    assert tokens.tolist() == [1, 2, 3, 4, 5]


def test_soft_masked_bases_are_upper_cased_and_every_ambiguity_code_is_n():
    assert encode("acgtn").tolist() == [1, 2, 3, 4, 5]
    assert set(encode("RYSWKMBDHVryswkmbdhv").tolist()) == {5}
    assert decode(encode("acgRyt")) == "ACGNNT"


@pytest.mark.parametrize(
    ("sequence", "position", "char"),
    [("ACGU", 3, "U"), ("AC-GT", 2, "-"), ("A1CG", 1, "1"), ("ACGX", 3, "X"), ("ACé", 2, "é")],
)
def test_invalid_characters_are_reported_with_their_first_position(sequence, position, char):
    assert first_invalid(sequence) == (position, char)
    with pytest.raises(InvalidBaseError) as excinfo:
        encode(sequence)
    assert excinfo.value.position == position and excinfo.value.char == char


def test_valid_sequence_has_no_invalid_position_and_empty_encodes_empty():
    assert first_invalid("ACGTNacgtn") is None
    assert encode("").size == 0


def test_repair_counts_and_decode_drops_padding():
    assert repair_counts("acGTRn") == (3, 1)  # a, c, n lower-case; R ambiguous (N is not a repair)
    assert decode(np.array([1, 2, 0, 0], dtype=np.uint8)) == "AC"
    with pytest.raises(ValueError):
        decode(np.array([7], dtype=np.uint8))
