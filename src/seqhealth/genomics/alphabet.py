"""DNA token alphabet: PAD=0, A=1, C=2, G=3, T=4, N=5.

Every IUPAC ambiguity code collapses to N ("unknown base"): the models only need to know that a
position is uncertain, and a six-token vocabulary keeps embeddings tiny. Lower case (soft-masked
repeats) is upper-cased. ``U`` is RNA, not DNA, and is rejected like any other foreign character.
"""

from __future__ import annotations

import numpy as np

PAD, A, C, G, T, N = 0, 1, 2, 3, 4, 5
VOCAB_SIZE = 6
TOKEN_TO_BASE = {PAD: "", A: "A", C: "C", G: "G", T: "T", N: "N"}
AMBIGUITY_CODES = "RYSWKMBDHV"  # N itself is a token, so it is not a "repair"

INVALID = 255  # lookup value for characters that are not DNA


def _build_lookup() -> np.ndarray:
    table = np.full(256, INVALID, dtype=np.uint8)
    for base, token in (("A", A), ("C", C), ("G", G), ("T", T), ("N", N)):
        table[ord(base)] = token
        table[ord(base.lower())] = token
    for code in AMBIGUITY_CODES:
        table[ord(code)] = N
        table[ord(code.lower())] = N
    return table


LOOKUP = _build_lookup()
AMBIGUITY_MASK = np.zeros(256, dtype=bool)
AMBIGUITY_MASK[[ord(c) for c in AMBIGUITY_CODES + AMBIGUITY_CODES.lower()]] = True
LOWER_CASE_MASK = np.zeros(256, dtype=bool)
LOWER_CASE_MASK[[ord(c) for c in "acgtn" + AMBIGUITY_CODES.lower()]] = True
# One bit-flag lookup finds invalid, lower-case and ambiguous characters in a single pass; the
# flags are sparse in real data, so later steps only touch the few flagged positions.
INVALID_FLAG, LOWER_CASE_FLAG, AMBIGUOUS_FLAG = 1, 2, 4
CHAR_FLAGS = (
    (LOOKUP == INVALID) * INVALID_FLAG
    + LOWER_CASE_MASK * LOWER_CASE_FLAG
    + AMBIGUITY_MASK * AMBIGUOUS_FLAG
).astype(np.uint8)


CHAR_FLAGS_BYTES = CHAR_FLAGS.tobytes()
LOOKUP_BYTES = LOOKUP.tobytes()  # for bytes.translate: several times faster than numpy indexing
# Token (low 3 bits; invalid characters get PAD, their record is quarantined anyway) and flags
# (high bits) in ONE byte, so a single translate pass yields both.
FLAG_SHIFT = 3
PACKED_BYTES = (
    (np.where(LOOKUP == INVALID, PAD, LOOKUP) | (CHAR_FLAGS << FLAG_SHIFT))
    .astype(np.uint8)
    .tobytes()
)
PLAIN_BASES = b"ACGTN"  # characters that need neither a repair nor a check


class InvalidBaseError(ValueError):
    """A sequence holds a character that is not an IUPAC DNA code."""

    def __init__(self, position: int, char: str):
        self.position = position
        self.char = char
        super().__init__(f"invalid character {char!r} at position {position} (0-based)")


def _as_bytes(seq: str) -> np.ndarray:
    try:
        raw = seq.encode("ascii")
    except UnicodeEncodeError as exc:
        # Non-ASCII text: report the first offending character by its string index.
        raise InvalidBaseError(exc.start, seq[exc.start]) from None
    return np.frombuffer(raw, dtype=np.uint8)


def first_invalid(seq: str) -> tuple[int, str] | None:
    """(0-based position, character) of the first non-DNA character, or None when all valid."""
    try:
        codes = _as_bytes(seq)
    except InvalidBaseError as exc:
        return exc.position, exc.char
    bad = np.flatnonzero(LOOKUP[codes] == INVALID)
    if bad.size == 0:
        return None
    pos = int(bad[0])
    return pos, seq[pos]


def encode(seq: str) -> np.ndarray:
    """Tokens (uint8) of a DNA string; raises InvalidBaseError naming the first bad position."""
    tokens = LOOKUP[_as_bytes(seq)]
    if tokens.size and tokens.max() == INVALID:
        pos = int(np.argmax(tokens == INVALID))
        raise InvalidBaseError(pos, seq[pos])
    return tokens


def repair_counts(seq: str) -> tuple[int, int]:
    """(lower-case bases, ambiguity codes other than N) in a valid sequence: the repairs encode makes."""
    codes = _as_bytes(seq)
    return int(LOWER_CASE_MASK[codes].sum()), int(AMBIGUITY_MASK[codes].sum())


_DECODE = np.frombuffer(b"?ACGTN", dtype=np.uint8)


def decode(tokens: np.ndarray) -> str:
    """Inverse of encode up to the repairs (upper case, ambiguity -> N); PAD tokens are dropped."""
    tokens = np.asarray(tokens, dtype=np.uint8)
    tokens = tokens[tokens != PAD]
    if tokens.size and tokens.max() >= VOCAB_SIZE:
        raise ValueError(f"token {int(tokens.max())} outside the vocabulary (0..{VOCAB_SIZE - 1})")
    return _DECODE[tokens].tobytes().decode("ascii")
