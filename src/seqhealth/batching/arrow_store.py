"""Model input on disk: one Arrow IPC file per split, read memory-mapped, item by item.

Why: ``SequenceDataset`` holds every sample of a split in the process (and each torchrun rank
unpickles its own copy), so a cohort larger than RAM cannot train. Here the samples live in an
Arrow IPC file (Feather v2, uncompressed, so the column buffers can be mapped as they are):

* ``ArrowStoreWriter`` appends samples in record batches of ``batch_rows``; it never holds more
  than one batch, so a store can be written from a generator over partitions.
* ``ArrowSequenceDataset`` maps the file and reads an item's ``x`` / ``y`` straight out of the
  mapped column buffers (numpy views, copied only for the one item). It has the interface of
  ``SequenceDataset`` (``lengths`` in memory for the bucket sampler, same item dicts and dtype
  rules), so ``SequenceDataModule`` and ``BucketBatchSampler`` use it unchanged and DDP sharding
  stays the sampler's (every rank maps the same file and reads only its own batches).

Columns: ``x`` (list of the token dtype, or list of fixed-size lists of F floats for ``[T, F]``),
``y`` (a scalar column, or a list column like ``x`` for per-position labels), ``length`` (int64)
and ``weight`` (float64, null when a sample has none). Any Arrow reader opens the file
(``pyarrow.ipc.open_file``, ``polars.read_ipc``).

Memory: pages of a mapped file that were read count in the process's RSS (as file-backed, clean
pages the kernel may drop) until they are unmapped. To keep RSS flat the dataset hands the pages
back (``madvise(MADV_DONTNEED)``, Linux) after every ``release_bytes`` read; a later read of the
same item faults it in again from the page cache.
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

from seqhealth.batching.dataset import _as_tensor

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


def _check_shapes(x_shape: tuple, y_shape: tuple, length: int, i: int) -> None:
    """``SequenceDataset``'s shape rules, checked when writing so a store only holds valid items."""
    if length < 1:
        raise ValueError(f"sample {i}: field 'length' must be >= 1, got {length}")
    if len(x_shape) not in (1, 2) or x_shape[0] != length:
        raise ValueError(f"sample {i}: field 'x' has shape {x_shape}, expected [length={length}] or [length={length}, F]")
    if len(y_shape) == 1 and y_shape[0] != length:
        raise ValueError(f"sample {i}: field 'y' has {y_shape[0]} positions but length is {length}")


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
            for key in ("x", "y", "length"):
                if key not in sample:
                    raise ValueError(f"sample {index}: missing field {key!r}")
            x, y = _storage_array(sample["x"]), _storage_array(sample["y"])
            length = int(sample["length"])
            _check_shapes(tuple(x.shape), tuple(y.shape), length, index)
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


class _ListColumn:
    """Per-row views into one record batch's list column (zero-copy over the mapping)."""

    def __init__(self, array: pa.Array):
        self.offsets = array.offsets.to_numpy()
        values = array.values
        self.inner: tuple[int, ...] = ()
        if pa.types.is_fixed_size_list(values.type):
            self.inner = (values.type.list_size,)
            values = values.values
        self.flat = values.to_numpy(zero_copy_only=True)

    def row(self, i: int) -> np.ndarray:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        width = self.inner[0] if self.inner else 1
        return self.flat[start * width:end * width].reshape(end - start, *self.inner)


class ArrowSequenceDataset(Dataset):
    """A split stored by ``ArrowStoreWriter``, read memory-mapped (see module docstring).

    ``lengths`` (and scalar labels and weights: a few bytes per sample) are read eagerly; ``x``
    and per-position ``y`` are read per item. The mapping is opened lazily in each process, so
    the dataset pickles as its path (DataLoader workers, torchrun ranks).
    """

    def __init__(self, path: str | Path, release_bytes: int = 64 * 2**20):
        self.path = Path(path)
        self.release_bytes = int(release_bytes)
        self._state = None
        self._open()

    def _open(self) -> None:
        with open(self.path, "rb") as handle:
            # Python's mmap (not pyarrow.memory_map) because it exposes madvise; pyarrow reads
            # the IPC file from it zero-copy through a BufferReader.
            mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(mapping)))
        if reader.schema.metadata is None or reader.schema.metadata.get(b"format") != _FORMAT:
            raise ValueError(f"{self.path}: not a seqhealth sequence store")
        batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        lengths = [b.column("length").to_numpy() for b in batches]
        self.lengths = np.concatenate(lengths).astype(np.int64) if lengths else np.empty(0, np.int64)
        self._starts = np.cumsum([0] + [b.num_rows for b in batches])
        self._weights = np.concatenate(
            [b.column("weight").to_numpy(zero_copy_only=False) for b in batches]) if batches else np.empty(0)
        y_type = reader.schema.field("y").type
        self._y_per_position = pa.types.is_list(y_type)
        xs = [_ListColumn(b.column("x")) for b in batches]
        if self._y_per_position:
            ys = [_ListColumn(b.column("y")) for b in batches]
        else:  # scalar labels: one value per sample, kept in memory like the lengths
            ys = np.concatenate([b.column("y").to_numpy() for b in batches])
        self._state = {"mapping": mapping, "x": xs, "y": ys, "touched": 0}

    def __getstate__(self) -> dict:
        # The mapping and its views cannot be pickled; the receiving process maps the file itself.
        return {"path": self.path, "release_bytes": self.release_bytes}

    def __setstate__(self, state: dict) -> None:
        self.path, self.release_bytes = state["path"], state["release_bytes"]
        self._state = None
        self._open()

    def __len__(self) -> int:
        return len(self.lengths)

    def _release_if_due(self, nbytes: int) -> None:
        state = self._state
        state["touched"] += nbytes
        if state["touched"] >= self.release_bytes and hasattr(mmap, "MADV_DONTNEED"):
            state["mapping"].madvise(mmap.MADV_DONTNEED)
            state["touched"] = 0

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self.lengths):
            raise IndexError(f"index {index} out of range for {len(self.lengths)} samples")
        state = self._state
        batch = int(np.searchsorted(self._starts, index, side="right")) - 1
        row = index - int(self._starts[batch])
        # np.array copies the item out of the mapping, so the tensor owns its memory and the
        # pages can be released.
        x_view = state["x"][batch].row(row)
        x = _as_tensor(np.array(x_view), "x", index)
        nbytes = x_view.nbytes
        if self._y_per_position:
            y_view = state["y"][batch].row(row)
            y = _as_tensor(np.array(y_view), "y", index)
            nbytes += y_view.nbytes
        else:
            y = _as_tensor(state["y"][index], "y", index)
        self._release_if_due(nbytes)
        item = {"x": x, "y": y, "length": int(self.lengths[index]), "index": index}
        if not np.isnan(self._weights[index]):
            item["weight"] = float(self._weights[index])
        return item
