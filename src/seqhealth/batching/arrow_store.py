"""Model input on disk: one Arrow IPC file per split, read item by item.

Why: ``SequenceDataset`` holds every sample of a split in the process (and each torchrun rank
unpickles its own copy), so a cohort larger than RAM cannot train. Here the samples live in an
Arrow IPC file (Feather v2, uncompressed, so every column buffer lies in the file as it is used):

* ``ArrowStoreWriter`` appends samples in record batches of ``batch_rows``; it never holds more
  than one batch, so a store can be written from a generator over partitions.
* ``ArrowSequenceDataset`` learns the file's layout once through a memory map (pyarrow reads the
  IPC footer and buffers zero-copy), keeps the per-sample scalars, and reads each item's
  ``x`` / ``y`` with one positioned read. It has the interface of ``SequenceDataset``
  (``lengths`` in memory for the bucket sampler, same item dicts and dtype rules), so
  ``SequenceDataModule`` and ``BucketBatchSampler`` use it unchanged and DDP sharding stays the
  sampler's (every rank opens the same file and reads only its own batches).

Columns: ``x`` (list of the token dtype, or list of fixed-size lists of F floats for ``[T, F]``),
``y`` (a scalar column, or a list column like ``x`` for per-position labels), ``length`` (int64)
and ``weight`` (float64, null when a sample has none). Any Arrow reader opens the file
(``pyarrow.ipc.open_file``, ``polars.read_ipc``).

Why positioned reads and not items served from the mapping: every mapped page an epoch reads
stays in the process's RSS until unmapped, and Linux maps a fault's neighbours too (fault-around,
large folios), so in shuffled order an epoch over a mapped 100 MB store left all 100 MB resident,
and releasing pages after a byte budget (``madvise``) still overshot the budget ~4x. A ``pread``
puts only the item in the process; the page cache still keeps the file (shared, reclaimable).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import Dataset

from seqhealth.batching.dataset import _as_tensor, check_fields, check_shapes

_FORMAT = b"seqhealth.sequence_store/1"


def _storage_array(value) -> np.ndarray:
    """The array as stored: float64 as float32 and bool as int8 (``SequenceDataset`` turns them
    into float32 / int64 tensors anyway, so reading gives the same tensors); narrow integer
    tokens keep their width on disk (one byte per DNA base, widened when read)."""
    array = value.numpy() if torch.is_tensor(value) else np.asarray(value)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.bool_:
        return array.astype(np.int8)
    return array


def _column_type(array: np.ndarray) -> pa.DataType:
    """Arrow type of one sample's array: ``[T]`` -> list<dtype>, ``[T, F]`` -> list<F x dtype>,
    a scalar -> dtype."""
    value_type = pa.from_numpy_dtype(array.dtype)
    if array.ndim == 0:
        return value_type
    if array.ndim == 1:
        return pa.list_(value_type)
    if array.ndim == 2:
        return pa.list_(pa.list_(value_type, int(array.shape[1])))
    raise ValueError(f"arrays of {array.ndim} dimensions are not stored (at most [T, F])")


def _column(arrays: list[np.ndarray], kind: pa.DataType) -> pa.Array:
    """One record batch's column from per-sample arrays, built from flat buffers (no Python
    objects per element)."""
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return pa.array(np.stack(arrays), type=kind)
    inner = kind.value_type
    flat_type = inner.value_type if pa.types.is_fixed_size_list(inner) else inner
    flat = np.concatenate([a.reshape(-1) for a in arrays]) if arrays else np.empty(0)
    values = pa.array(flat, type=flat_type)  # a lossy cast (e.g. 0.5 into int) raises here
    if pa.types.is_fixed_size_list(inner):
        for a in arrays:
            if a.ndim != 2 or a.shape[1] != inner.list_size:
                raise ValueError(f"store expects [T, {inner.list_size}] arrays, got {a.shape}")
        values = pa.FixedSizeListArray.from_arrays(values, inner.list_size)
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    np.cumsum([len(a) for a in arrays], out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


class ArrowStoreWriter:
    """Writes samples to an Arrow IPC file in record batches (context manager).

    The schema is taken from the first sample; later samples are cast to it. The file is
    written under a temporary name and renamed on ``close``, so a reader never maps half a store.
    """

    def __init__(self, path: str | Path, batch_rows: int = 1024, metadata: dict[str, str] | None = None):
        self.path = Path(path)
        self.batch_rows = int(batch_rows)
        # Free-form string metadata in the file's schema (e.g. the data fingerprint).
        self.metadata = {str(k).encode(): str(v).encode() for k, v in (metadata or {}).items()}
        self.n_written = 0
        self._pending: list[tuple[np.ndarray, np.ndarray, int, float | None]] = []
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None
        self._tmp = self.path.with_name(self.path.name + ".partial")

    def write(self, samples: Iterable[dict]) -> None:
        for sample in samples:
            index = self.n_written + len(self._pending)
            check_fields(sample, index)  # a store only holds items SequenceDataset would accept
            x, y = _storage_array(sample["x"]), _storage_array(sample["y"])
            length = int(sample["length"])
            check_shapes(tuple(x.shape), tuple(y.shape), length, index)
            weight = sample.get("weight")
            self._pending.append((x, y, length, None if weight is None else float(weight)))
            if len(self._pending) >= self.batch_rows:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        xs, ys, lengths, weights = zip(*self._pending)
        if self._schema is None:
            self._schema = pa.schema(
                [("x", _column_type(xs[0])), ("y", _column_type(ys[0])),
                 ("length", pa.int64()), ("weight", pa.float64())],
                metadata={**self.metadata, b"format": _FORMAT},
            )  # fmt: skip
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pa.ipc.new_file(str(self._tmp), self._schema)
        batch = pa.record_batch(
            [_column(list(xs), self._schema.field("x").type), _column(list(ys), self._schema.field("y").type),
             pa.array(lengths, type=pa.int64()), pa.array(weights, type=pa.float64())],
            schema=self._schema,
        )  # fmt: skip
        self._writer.write_batch(batch)
        self.n_written += len(self._pending)
        self._pending = []

    def close(self) -> Path:
        self._flush()
        if self._writer is None:
            raise ValueError(f"{self.path}: no samples were written (an empty split has no schema)")
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def __enter__(self) -> ArrowStoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            if self._writer is not None:
                self._writer.close()
            self._tmp.unlink(missing_ok=True)


def write_arrow_store(samples: Iterable[dict], path: str | Path, batch_rows: int = 1024,
                      metadata: dict[str, str] | None = None) -> Path:
    """Write an iterable of samples (a list, or a generator over partitions) to ``path``."""
    with ArrowStoreWriter(path, batch_rows=batch_rows, metadata=metadata) as writer:
        writer.write(samples)
    return Path(path)


def store_fingerprint(path: str | Path) -> str | None:
    """The ``fingerprint`` a store was written with (schema metadata only; None if no store)."""
    try:
        schema = pa.ipc.open_file(str(path)).schema
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    value = (schema.metadata or {}).get(b"fingerprint")
    return value.decode() if value is not None else None


def default_store_dir(task_name: str) -> Path:
    """Where a task's stores go unless ``store_dir`` says otherwise (relative to the project)."""
    return Path("data/05_model_input") / task_name / "store"


def open_split(split):
    """A split as a model input carries it: a list of samples as it is, a store path opened as an
    ``ArrowSequenceDataset`` (same items, read one at a time)."""
    return ArrowSequenceDataset(split) if isinstance(split, str | Path) else split


class _ListColumn:
    """Where one record batch's list column lies in the file: per-row offsets (copied into
    memory, 4 bytes a row) and the file position of its flat values, read with ``pread``."""

    def __init__(self, array: pa.Array, base_address: int):
        self.offsets = np.array(array.offsets.to_numpy())  # a copy: nothing stays mapped
        values = array.values
        self.inner: tuple[int, ...] = ()
        if pa.types.is_fixed_size_list(values.type):
            self.inner = (values.type.list_size,)
            values = values.values
        if values.null_count or values.offset:
            raise ValueError("store columns must be null-free and unsliced")
        self.dtype = np.dtype(values.type.to_pandas_dtype())
        # Zero-copy buffers of a mapped IPC file: address minus the mapping's start is the offset.
        self.file_offset = values.buffers()[1].address - base_address
        self.width = self.inner[0] if self.inner else 1

    def read(self, fd: int, i: int) -> np.ndarray:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        out = np.empty((end - start) * self.width, dtype=self.dtype)
        position = self.file_offset + start * self.width * self.dtype.itemsize
        if os.preadv(fd, [out], position) != out.nbytes:
            raise OSError(f"short read at byte {position}: the store file changed or was truncated")
        return out.reshape(end - start, *self.inner)


class ArrowSequenceDataset(Dataset):
    """A split stored by ``ArrowStoreWriter``, read item by item from disk (see module docstring).

    At open the file is mapped once to learn its layout (where every record batch's buffers lie)
    and to copy the per-sample columns (``lengths``, scalar labels, weights, row offsets: a few
    dozen bytes a sample); the mapping is then dropped. Each ``x`` / per-position ``y`` is read
    with one positioned read (``os.preadv``) into the item's own array, so the process holds only
    the items in flight: no page of the file stays in its RSS (the kernel's page cache still
    caches the file, shared and reclaimable). The file descriptor is opened lazily in each
    process, so the dataset pickles as its path (DataLoader workers, torchrun ranks).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None
        with open(self.path, "rb") as handle:
            mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._read_layout(mapping)
        finally:
            try:
                mapping.close()
            except BufferError:  # an error left an Arrow view alive; the mapping goes with it
                pass

    def _read_layout(self, mapping: mmap.mmap) -> None:
        buffer = pa.py_buffer(mapping)
        reader = pa.ipc.open_file(pa.BufferReader(buffer))
        if reader.schema.metadata is None or reader.schema.metadata.get(b"format") != _FORMAT:
            raise ValueError(f"{self.path}: not a seqhealth sequence store")
        self._y_per_position = pa.types.is_list(reader.schema.field("y").type)
        lengths, weights, scalars, self._x, self._y = [], [], [], [], []
        can_release = hasattr(mmap, "MADV_DONTNEED")
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            lengths.append(batch.column("length").to_numpy().astype(np.int64))
            weights.append(batch.column("weight").to_numpy(zero_copy_only=False).astype(np.float64))
            self._x.append(_ListColumn(batch.column("x"), buffer.address))
            if self._y_per_position:
                self._y.append(_ListColumn(batch.column("y"), buffer.address))
            else:  # scalar labels: one value per sample, kept in memory like the lengths
                scalars.append(np.array(batch.column("y").to_numpy()))
            del batch
            if can_release:  # the pages read for this batch's metadata leave RSS right away
                mapping.madvise(mmap.MADV_DONTNEED)
        self.lengths = np.concatenate(lengths) if lengths else np.empty(0, np.int64)
        self._weights = np.concatenate(weights) if weights else np.empty(0)
        self._y_scalar = np.concatenate(scalars) if scalars else None
        self._starts = np.cumsum([0] + [len(part) for part in lengths])
        # Every Arrow object over the mapping must be gone before it is closed.
        del reader, buffer

    def __getstate__(self) -> dict:
        # Everything but the file descriptor (each process opens its own).
        return {**self.__dict__, "_fd": None}

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self.lengths):
            raise IndexError(f"index {index} out of range for {len(self.lengths)} samples")
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        batch = int(np.searchsorted(self._starts, index, side="right")) - 1
        row = index - int(self._starts[batch])
        x = _as_tensor(self._x[batch].read(self._fd, row), "x", index)
        if self._y_per_position:
            y = _as_tensor(self._y[batch].read(self._fd, row), "y", index)
        else:
            y = _as_tensor(self._y_scalar[index], "y", index)
        item = {"x": x, "y": y, "length": int(self.lengths[index]), "index": index}
        if not np.isnan(self._weights[index]):
            item["weight"] = float(self._weights[index])
        return item
