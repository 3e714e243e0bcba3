"""The text of one sequence file, read block by block (issue 21: memory bounded by a record).

``FileText`` decompresses (gzip is detected by magic bytes), rejects binary or empty files, turns
``\\r\\n`` and ``\\r`` into ``\\n`` and checks UTF-8, handing out blocks that end at a line end, so
a parser never holds more than the record it is reading. The whole-file reader this replaces
checked everything before parsing; ``settle`` keeps its answer for a bad file: a read (gzip) error
anywhere wins, then binary / empty / wrong-format, then invalid UTF-8 anywhere, then the parser's
own error, each with the same message as before.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path

from seqhealth.quality import DataFormatError

READ_SIZE = 1 << 16  # bytes read at a time: small next to a genome, large enough to batch reads
_NUL_SCAN = 65536  # NUL bytes within this many leading bytes betray a binary file
_HEAD = 4096  # bytes the format sniffer is shown


def _raw_blocks(path: Path) -> Iterator[bytes]:
    """Decompressed bytes of ``path``; read and gzip failures become ``DataFormatError``."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(2)
            handle.seek(0)
            if magic == b"\x1f\x8b":
                stream = gzip.GzipFile(fileobj=handle)
            elif path.suffix.lower() == ".gz":
                raise DataFormatError(
                    path, "name ends in .gz but the content is not gzip-compressed"
                )
            else:
                stream = handle
            while block := stream.read(READ_SIZE):
                yield block
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        # gzip.decompress (the whole-file reader) says "CRC check failed" without the two sums.
        reason = "CRC check failed" if str(exc).startswith("CRC check failed") else exc
        raise DataFormatError(path, f"corrupt or truncated gzip stream ({reason})") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file ({exc})") from None


def _newlines_normalised(blocks: Iterator[bytes]) -> Iterator[bytes]:
    # Windows (\r\n) and old-Mac (\r only) line ends: the parsers split lines at \n only, so a
    # \r-only FASTA would read as one record. A trailing \r waits for the next block's \n.
    carry = b""
    for block in blocks:
        block, carry = carry + block, b""
        if block.endswith(b"\r"):
            block, carry = block[:-1], b"\r"
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if block:
            yield block
    if carry:
        yield b"\n"


class FileText:
    """Blocks of one file's text for a parser; ``start`` first, then ``blocks``, ``settle`` on error."""

    def __init__(self, path: Path):
        self.path = path
        self._raw = _raw_blocks(path)
        self._pending: list[bytes] = []  # normalised head, read by ``start``, handed out first
        self._normalised: Iterator[bytes] = iter(())
        self._checked: Iterator[bytes] | None = None
        self._own_errors: list[DataFormatError] = []  # UTF-8 errors raised here, not by a parser

    def start(self, check_head: Callable[[bytes], None]) -> None:
        """Reject a binary or blank file, then show ``check_head`` the first bytes (``raw[:4096]``,
        or the 4096 after leading blank lines) as the whole-file reader did."""
        raw = []
        size = 0
        for block in self._raw:
            raw.append(block)
            size += len(block)
            if size >= _NUL_SCAN:
                break
        if b"\x00" in b"".join(raw)[:_NUL_SCAN]:
            raise DataFormatError(self.path, "binary content (NUL bytes), not a sequence text file")
        blank = all(block.isspace() for block in raw)  # True for no blocks (blocks are never b"")
        while blank:
            block = next(self._raw, None)
            if block is None:
                raise DataFormatError(self.path, "empty file (no records)")
            raw.append(block)
            blank = block.isspace()
        self._normalised = _newlines_normalised(chain(raw, self._raw))
        del raw
        size = blank = 0  # bytes read; bytes before the first non-blank one (while all blank)
        for block in self._normalised:
            self._pending.append(block)
            if size == blank and block.isspace():
                blank += len(block)
            elif size == blank:
                blank += len(block) - len(block.lstrip())
            size += len(block)
            if size >= _HEAD and (blank < _HEAD or size - blank >= _HEAD):
                break
        text = b"".join(self._pending)
        self._pending = [text]
        head = text[:_HEAD]
        check_head(text.lstrip()[:_HEAD] if head.isspace() else head)

    def blocks(self) -> Iterator[bytes]:
        """The text in blocks ending at ``\\n`` (the last may not), UTF-8 checked: one generator."""
        self._checked = self._line_blocks()
        return self._checked

    def _line_blocks(self) -> Iterator[bytes]:
        # A block cut after a \n never splits a UTF-8 character, so checking blocks one by one
        # finds the first bad byte at the offset the whole-file decode reported.
        offset = 0
        pieces: list[bytes] = []  # of the line being read
        for block in chain(self._pending, self._normalised):
            self._pending = []
            cut = block.rfind(b"\n") + 1
            if not cut:
                pieces.append(block)
                continue
            pieces.append(block[:cut])
            rest = block[cut:]
            del block
            size = sum(map(len, pieces))
            yield self._checked_join(pieces, offset)
            offset += size
            pieces = [rest] if rest else []
        if pieces:
            yield self._checked_join(pieces, offset)

    def _checked_join(self, pieces: list[bytes], offset: int) -> bytes:
        # The list is emptied so that the suspended generator holds no copy of what it yielded.
        block = b"".join(pieces)
        pieces.clear()
        if block.isascii():
            return block
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = DataFormatError(
                self.path,
                f"binary or non-UTF-8 content at byte {offset + exc.start}, not a sequence text file",
            )
            self._own_errors.append(error)
            raise error from None
        return block

    def settle(self, error: DataFormatError) -> DataFormatError:
        """The error the whole-file reader raised for this file, given the first one met here:
        the rest is read for a read error, and for invalid UTF-8 when a parser raised ``error``."""
        from_parser = self._checked is not None and error not in self._own_errors
        try:
            if from_parser:
                for _ in self._checked:
                    pass
        except DataFormatError as earlier:
            error = earlier
        try:
            for _ in self._raw:
                pass
        except DataFormatError as read_error:
            return read_error
        return error

    def close(self) -> None:
        self._raw.close()
