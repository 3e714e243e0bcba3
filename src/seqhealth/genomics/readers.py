"""Read FASTA / FASTQ / GenBank files (plain or gzip) into one raw records table.

The reader only parses: it never repairs or drops a record (that is ``validation``'s job, which
leaves a quarantine row per dropped record). Anything that makes a whole file unreadable raises
``DataFormatError`` naming the file, and the record number when the parser got that far.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from Bio import BiopythonParserWarning, SeqIO
from Bio.Seq import UndefinedSequenceError
from Bio.SeqIO.FastaIO import SimpleFastaParser
from Bio.SeqIO.QualityIO import FastqGeneralIterator

from seqhealth.genomics.file_text import READ_SIZE, FileText
from seqhealth.quality import DataFormatError

RAW_COLUMNS = ["source_file", "record_id", "description", "sequence", "cds_parts", "format"]
FORMATS = ("fasta", "fastq", "genbank")
EXTENSION_FORMATS = {
    ".fa": "fasta",
    ".fasta": "fasta",
    ".fna": "fasta",
    ".fas": "fasta",
    ".fq": "fastq",
    ".fastq": "fastq",
    ".gb": "genbank",
    ".gbk": "genbank",
    ".genbank": "genbank",
    ".gbff": "genbank",
}
_FORMAT_NAMES = {"fasta": "FASTA", "fastq": "FASTQ", "genbank": "GenBank"}


def format_from_extension(path: Path) -> str | None:
    """Format claimed by the file name (``.gz`` is looked through), or None if not a sequence file."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return EXTENSION_FORMATS.get(suffixes[-1]) if suffixes else None


def list_sequence_files(path: Path) -> list[Path]:
    """The file itself, or every sequence file under a directory (recursive, sorted for determinism)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and format_from_extension(p))
    raise DataFormatError(path, "no such file or directory")


def sniff_format(head: bytes) -> str | None:
    """Format announced by the first non-blank characters (``>``, ``@`` or ``LOCUS``)."""
    head = head.lstrip()[:5]
    if head.startswith(b">"):
        return "fasta"
    if head.startswith(b"@"):
        return "fastq"
    if head.startswith(b"LOCUS"):
        return "genbank"
    return None


def _record_row(path: Path, fmt: str, record_id: str, description: str, sequence: str, cds):
    return (str(path), record_id, description, sequence, cds, fmt)


_RSTRIP_ONLY_WHITESPACE = b"\t\v\f\x1c\x1d\x1e\x1f"  # whitespace str.rstrip removes, bytes' doesn't


def fasta_records(data: bytes | str) -> list[tuple[str, str]]:
    """``(title, sequence)`` pairs, identical to Biopython's ``SimpleFastaParser`` on the same text.

    SimpleFastaParser loops in Python over every line; here records are split at ``\n>`` and each
    body loses its newlines in one ``bytes.translate`` pass, which is what keeps ingest within 2x
    of a bare ``SeqIO.parse``. Rare records (non-ASCII, tabs or other odd whitespace) go through
    SimpleFastaParser itself so the result is always exactly Biopython's (tested against it).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    chunks: list[bytes] = []
    starts_record = True  # element 0 is the (blank) text before the first '>'
    # Splitting on the single byte '>' is ~3x faster than on b"\n>"; a '>' that does not follow
    # a newline (inside a title) is glued back.
    for piece in data.split(b">")[1:]:
        if starts_record:
            chunks.append(piece)
        elif chunks:
            chunks[-1] += b">" + piece
        starts_record = piece.endswith(b"\n")
    parts = [chunk.partition(b"\n") for chunk in chunks]
    sequences = [body.translate(None, b"\r\n ") for _title, _, body in parts]
    titles = [title for title, _, _body in parts]
    del parts  # copies of the bodies: the peak stays a few copies of the text (issue 21)
    everything = b"".join(sequences)
    if everything.isascii() and (
        everything.isalpha() or everything.translate(None, _RSTRIP_ONLY_WHITESPACE) == everything
    ):  # the usual case, decided for all records at once
        del chunks, everything
        return [
            (title.decode("utf-8").rstrip(), sequence.decode("ascii"))
            for title, sequence in zip(titles, sequences)
        ]
    records = []
    for chunk, sequence in zip(chunks, sequences):
        if not sequence.isascii() or (
            not sequence.isalpha() and sequence.translate(None, _RSTRIP_ONLY_WHITESPACE) != sequence
        ):
            records.extend(SimpleFastaParser(io.StringIO((b">" + chunk).decode("utf-8"))))
        else:
            title = chunk.partition(b"\n")[0]
            records.append((title.decode("utf-8").rstrip(), sequence.decode("ascii")))
    return records


def _fasta_groups(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Runs of whole FASTA records from line-aligned blocks: cut before the last line starting
    with '>' in each block, so a run is at most one record plus one block (many short records
    share a run and go through ``fasta_records`` together)."""
    pending: list[bytes] = []
    for block in blocks:
        cut = block.rfind(b"\n>") + 1
        if not cut and not block.startswith(b">"):
            pending.append(block)
            continue
        pending.append(block[:cut])
        rest = block[cut:]
        del block
        if any(pending):
            yield _joined(pending)
        pending = [rest]
    if pending:
        yield _joined(pending)


def _joined(pieces: list[bytes]) -> bytes:
    # Emptying the list means a suspended generator holds no second copy of a yielded run.
    joined = b"".join(pieces)
    pieces.clear()
    return joined


def _parse_fasta(path: Path, blocks: Iterator[bytes]) -> Iterator[tuple]:
    source = str(path)
    for group in _fasta_groups(blocks):
        records = fasta_records(group)
        del group  # the run's bytes go before its records are handed on
        records.reverse()  # popped from the end: a record handed on is no longer held here
        while records:
            yield _fasta_row(source, *records.pop())


def _fasta_row(source: str, title: str, sequence: str) -> tuple:
    return (source, (title.split(None, 1) or [""])[0], title, sequence, [], "fasta")


def _text_handle(blocks: Iterator[bytes]) -> io.TextIOWrapper:
    """A text handle over the blocks (already UTF-8 checked) for Biopython's parsers; lines end
    at \n only, as in the ``io.StringIO`` of the whole text the parsers were given before."""
    handle = io.TextIOWrapper(
        io.BufferedReader(_BlockReader(blocks), READ_SIZE), encoding="utf-8", newline="\n"
    )
    handle._CHUNK_SIZE = READ_SIZE  # decode in blocks of this size, not 8 kB
    return handle


class _BlockReader(io.RawIOBase):
    def __init__(self, blocks: Iterator[bytes]):
        self._blocks = blocks
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._rest = memoryview(block)
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def _parse_fastq(path: Path, blocks: Iterator[bytes]) -> Iterator[tuple]:
    n_rows = 0
    try:
        for title, sequence, _quality in FastqGeneralIterator(_text_handle(blocks)):
            record_id = title.split(None, 1)[0] if title.strip() else ""
            n_rows += 1
            yield _record_row(path, "fastq", record_id, title, sequence, [])
    except DataFormatError:  # the file's own read / UTF-8 errors (DataFormatError is a ValueError)
        raise
    except ValueError as exc:
        raise DataFormatError(path, f"FASTQ record {n_rows + 1}: {exc}") from None


def cds_parts_of(record) -> list[list[tuple[int, int, int]]]:
    """Per CDS feature, its ``(start0, end, strand)`` parts (joins give several parts)."""
    features = []
    for feature in record.features:
        if feature.type != "CDS" or feature.location is None:
            continue
        parts = []
        for part in feature.location.parts:
            # Parts on another sequence (``join(AB123.1:1..50,...)``) have no coordinates here.
            if part.ref not in (None, record.id, record.name):
                continue
            strand = -1 if part.strand == -1 else 1
            parts.append((int(part.start), int(part.end), strand))
        if parts:
            features.append(parts)
    return features


def _genbank_row(path: Path, record) -> tuple:
    try:
        sequence = str(record.seq)
    except UndefinedSequenceError:
        # CONTIG-only entries carry no bases; validation quarantines them as empty.
        sequence = ""
    return _record_row(
        path, "genbank", record.id, record.description, sequence, cds_parts_of(record)
    )


def _parse_genbank(path: Path, blocks: Iterator[bytes]) -> Iterator[tuple]:
    records = SeqIO.parse(_text_handle(blocks), "genbank")
    caught: list = []
    n_rows = 0
    while True:
        # Warnings are caught per record, not around the yield: the caller's own warnings pass.
        with warnings.catch_warnings(record=True) as new:
            warnings.simplefilter("always", BiopythonParserWarning)
            try:
                record = next(records, None)
                if record is not None:
                    _raise_on_truncation(path, caught + new, n_rows + 1)
                    row = _genbank_row(path, record)
            except DataFormatError:
                raise
            except Exception as exc:  # Biopython raises ValueError and friends with no file name
                raise DataFormatError(
                    path, f"GenBank record {n_rows + 1}: {type(exc).__name__}: {exc}"
                ) from None
            if record is None:
                _raise_on_truncation(path, caught + new, n_rows)
        caught.extend(new)
        if record is None:
            break
        n_rows += 1
        yield row
    for warning in caught:  # harmless parser remarks are passed on, not swallowed
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _raise_on_truncation(path: Path, caught: list, record_number: int) -> None:
    # Biopython only *warns* when a file ends inside the sequence; a cut file must not pass.
    for warning in caught:
        text = str(warning.message)
        if "Premature end" in text or "Expected sequence length" in text:
            raise DataFormatError(path, f"GenBank record {record_number}: truncated ({text})")


_PARSERS = {"fasta": _parse_fasta, "fastq": _parse_fastq, "genbank": _parse_genbank}


def iter_sequence_file(path: Path, fmt: str | None = None) -> Iterator[tuple]:
    """Rows of one file, read record by record; ``fmt`` overrides the extension but must agree
    with the content. A bad file raises the error (and message) it always did, before or after
    some rows (see ``FileText``)."""
    claimed = fmt or format_from_extension(path)
    if claimed not in FORMATS:
        raise DataFormatError(
            path, f"unknown sequence format {claimed!r} (expected one of {', '.join(FORMATS)})"
        )
    text = FileText(path)
    n_rows = 0
    try:
        text.start(lambda head: _check_claim(path, claimed, head))
        blocks = text.blocks()
        for row in _PARSERS[claimed](path, blocks):
            n_rows += 1
            yield row
        for _ in blocks:  # text a parser left unread is still checked, as the whole file was
            pass
    except DataFormatError as error:
        raise text.settle(error) from None
    finally:
        text.close()
    if not n_rows:
        raise DataFormatError(path, f"no {_FORMAT_NAMES[claimed]} records found")


def _check_claim(path: Path, claimed: str, head: bytes) -> None:
    found = sniff_format(head)
    if found != claimed:
        start = head.lstrip()[:20].decode("utf-8", errors="replace").splitlines()[0]
        raise DataFormatError(
            path,
            f"claims {_FORMAT_NAMES[claimed]} but starts with {start!r}"
            + (f" (looks like {_FORMAT_NAMES[found]})" if found else ""),
        )


def read_sequence_file(path: Path, fmt: str | None = None) -> list[tuple]:
    """Rows of one file (``iter_sequence_file``, all at once)."""
    return list(iter_sequence_file(path, fmt))


def read_sequence_records(path, fmt: str | None = None) -> pd.DataFrame:
    """Raw records of a file or a directory tree as a DataFrame with ``RAW_COLUMNS``.

    ``fmt`` (``fasta``/``fastq``/``genbank``, or None/``auto`` for the extension) applies to every
    file. Raises ``DataFormatError`` for unreadable files and for a directory with no sequence files.
    """
    path = Path(path)
    fmt = None if fmt in (None, "auto") else fmt.lower()
    files = list_sequence_files(path)
    if not files:
        raise DataFormatError(
            path, f"no sequence files ({' '.join(sorted(EXTENSION_FORMATS))}, optionally .gz) found"
        )
    rows = [row for file in files for row in read_sequence_file(file, fmt)]
    columns = zip(*rows)
    # Plain Python objects (values and column labels): converting megabase strings to Arrow
    # strings (pandas' default "str") and back on every access costs more than the parse itself.
    frame = pd.DataFrame(
        dict(zip(RAW_COLUMNS, map(list, columns))),
        columns=pd.Index(RAW_COLUMNS, dtype=object),
        dtype=object,
    )
    # Files of a folder with no sequence extension (any case) are not read: name them, so the
    # ingest report shows e.g. a ``reads.seq`` that was expected to count.
    frame.attrs["ignored_files"] = ignored_files(path)
    return frame


def ignored_files(path: Path) -> list[str]:
    """Files under a directory that ``list_sequence_files`` does not read (hidden ones aside)."""
    if not path.is_dir():
        return []
    return sorted(
        str(p) for p in path.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not format_from_extension(p)
    )  # fmt: skip
