"""Safe reader of PyTorch ``.pth``/``.pth.tar`` checkpoints, without torch.

Both torch serialization formats are read:

* the zip format (torch >= 1.6): ``<archive>/data.pkl`` plus one raw storage file
  ``<archive>/data/<key>`` per storage;
* the legacy format (torch < 1.6, the format of the published FOMM checkpoints): a stream of
  pickles (magic number, protocol version, sys info, the object, the storage keys) followed by
  each storage as an int64 element count and its raw bytes.

Pickles are read with a restricted unpickler: only the few globals a state dict needs are
resolved (to local stand-ins, never to torch), anything else raises :class:`CheckpointError`
without being called. Tensors come back as numpy arrays that own their memory.
"""

from __future__ import annotations

import collections
import io
import logging
import os
import pickle
import struct
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from fomm_tf.errors import CheckpointError

logger = logging.getLogger(__name__)

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch storage class name -> numpy dtype of its elements (as stored, little-endian).
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # widened to float32 after striding
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    """Stand-in for a ``torch.<X>Storage`` class; only names an element type."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A flat typed buffer; ``data`` may be filled in after unpickling (legacy format)."""

    __slots__ = ("stype", "numel", "data", "root", "offset")

    def __init__(self, stype: _StorageType, numel: int, data: bytes | None = None) -> None:
        self.stype, self.numel, self.data = stype, numel, data
        self.root: _Storage | None = None  # legacy views: element offset into a root storage
        self.offset = 0

    def array(self) -> np.ndarray:
        if self.root is not None:
            base = self.root.array()
            if self.offset + self.numel > base.size:
                raise ValueError("storage view exceeds its root storage")
            return base[self.offset : self.offset + self.numel]
        if self.data is None:
            raise ValueError("storage data missing")
        nbytes = self.numel * self.stype.dtype.itemsize
        if nbytes > len(self.data):
            raise ValueError(
                f"storage of {self.numel} elements needs {nbytes} bytes, has {len(self.data)}"
            )
        return np.frombuffer(self.data, dtype=self.stype.dtype, count=self.numel)


class _Tensor:
    """A tensor waiting for its storage bytes; turned into numpy by :func:`_materialize`."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any) -> None:
        if not isinstance(storage, _Storage):
            raise ValueError("tensor storage is not a storage")
        ints = (offset, *size, *stride)
        if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in ints):
            raise ValueError(f"bad tensor geometry offset={offset} size={size} stride={stride}")
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def to_numpy(self, byteorder: str) -> np.ndarray:
        flat = self.storage.array()
        if byteorder != "little":
            flat = flat.view(flat.dtype.newbyteorder(">"))
        if 0 in self.size:
            out = np.empty(self.size, dtype=flat.dtype)
        else:
            last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
            if last >= flat.size:
                raise ValueError(
                    f"tensor of size {self.size} reads past its storage of {flat.size} elements"
                )
            item = flat.dtype.itemsize
            view = np.lib.stride_tricks.as_strided(
                flat[self.offset :],
                shape=self.size,
                strides=[s * item for s in self.stride],
                writeable=False,
            )
            out = view.copy()
        if self.storage.stype.name == "BFloat16Storage":
            return (out.astype(np.uint32) << 16).view(np.float32)
        return out.astype(out.dtype.newbyteorder("="), copy=False)


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad=False, hooks=None, metadata=None
):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    if not isinstance(data, _Tensor):
        raise ValueError("parameter data is not a tensor")
    return data


_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only :data:`_SAFE_GLOBALS`; storages come from ``load_storage``."""

    def __init__(self, file: BinaryIO, label: str, load_storage=None) -> None:
        super().__init__(file)
        self.label = label
        self.load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise CheckpointError(
                f"{self.label}: refusing to load unsafe pickle global '{module}.{name}'"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        if (
            self.load_storage is None
            or not isinstance(pid, tuple)
            or not pid
            or pid[0] != "storage"
        ):
            raise CheckpointError(f"{self.label}: unsupported persistent id {str(pid)[:80]!r}")
        if not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str):
            raise CheckpointError(f"{self.label}: malformed storage id {str(pid)[:80]!r}")
        return self.load_storage(pid)


def _materialize(obj: Any, byteorder: str) -> Any:
    """Replace every :class:`_Tensor` in a tree of dicts/lists/tuples by a numpy array."""
    if isinstance(obj, _Tensor):
        return obj.to_numpy(byteorder)
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _materialize(value, byteorder)
        return obj
    if isinstance(obj, list):
        obj[:] = [_materialize(v, byteorder) for v in obj]
        return obj
    if isinstance(obj, tuple):
        return tuple(_materialize(v, byteorder) for v in obj)
    if isinstance(obj, (_Storage, _StorageType)):
        raise ValueError("bare storage outside a tensor is not supported")
    return obj


def _read_zip(label: str) -> Any:
    with zipfile.ZipFile(label) as archive:
        pkls = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") <= 1]
        if len(pkls) != 1:
            raise CheckpointError(
                f"{label}: zip file is not a PyTorch checkpoint (no single data.pkl)"
            )
        prefix = pkls[0][: -len("data.pkl")]
        names = set(archive.namelist())
        byteorder = "little"
        if prefix + "byteorder" in names:  # torch >= 1.12 writes native order and records it
            byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"{label}: unknown byteorder {byteorder[:20]!r}")
        cache: dict[str, _Storage] = {}

        def load_storage(pid: tuple) -> _Storage:
            if len(pid) != 5 or not isinstance(pid[4], int) or pid[4] < 0:
                raise CheckpointError(f"{label}: malformed storage id {str(pid)[:80]!r}")
            _, stype, key, _location, numel = pid
            if key not in cache:
                record = f"{prefix}data/{key}"
                if record not in names:
                    raise CheckpointError(f"{label}: storage record {record!r} missing")
                nbytes = numel * stype.dtype.itemsize
                if archive.getinfo(record).file_size < nbytes:
                    raise CheckpointError(
                        f"{label}: storage {key!r} shorter than its {numel} elements"
                    )
                cache[key] = _Storage(stype, numel, archive.read(record))
            return cache[key]

        obj = _RestrictedUnpickler(io.BytesIO(archive.read(pkls[0])), label, load_storage).load()
        return _materialize(obj, byteorder)


def _read_legacy(label: str) -> Any:
    with open(label, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            magic = _RestrictedUnpickler(f, label).load()
        except CheckpointError:
            raise
        except Exception:
            raise CheckpointError(
                f"{label}: not a PyTorch checkpoint, or truncated (neither a zip archive nor a legacy torch stream)"
            ) from None
        if magic != LEGACY_MAGIC:
            raise CheckpointError(f"{label}: not a PyTorch checkpoint (bad magic number)")
        protocol = _RestrictedUnpickler(f, label).load()
        if protocol != LEGACY_PROTOCOL:
            raise CheckpointError(f"{label}: unsupported legacy protocol version {protocol!r}")
        _RestrictedUnpickler(f, label).load()  # sys_info; legacy storages are always LE
        storages: dict[str, _Storage] = {}

        def load_storage(pid: tuple) -> _Storage:
            if len(pid) != 6 or not isinstance(pid[4], int) or pid[4] < 0:
                raise CheckpointError(f"{label}: malformed storage id {str(pid)[:80]!r}")
            _, stype, key, _location, numel, view = pid
            root = storages.setdefault(key, _Storage(stype, numel))
            if view is None:
                return root
            view_key, offset, view_size = view
            if view_key not in storages:
                storages[view_key] = _Storage(stype, view_size)
                storages[view_key].root, storages[view_key].offset = root, offset
            return storages[view_key]

        obj = _RestrictedUnpickler(f, label, load_storage).load()
        keys = _RestrictedUnpickler(f, label).load()
        if not isinstance(keys, list):
            raise CheckpointError(f"{label}: corrupt legacy checkpoint (storage key list)")
        for key in keys:
            if key not in storages:
                raise CheckpointError(f"{label}: storage {key!r} listed but never used")
            storage = storages[key]
            header = f.read(8)
            if len(header) != 8:
                raise CheckpointError(f"{label}: truncated file (storage {key!r} missing)")
            (numel,) = struct.unpack("<q", header)
            nbytes = numel * storage.stype.dtype.itemsize
            if numel < 0 or nbytes > size - f.tell():
                raise CheckpointError(
                    f"{label}: truncated file or absurd size ({numel} elements) for storage {key!r}"
                )
            storage.numel, storage.data = numel, f.read(nbytes)
        return _materialize(obj, "little")


def read_torch_checkpoint(path: str | os.PathLike) -> dict:
    """Read a torch checkpoint (zip or legacy format) into nested dicts of numpy arrays.

    Non-tensor values (ints, floats, strings, lists) are kept as Python objects.
    Raises :class:`CheckpointError` for a missing, corrupt, truncated or unsafe file.
    """
    label = os.fspath(path)
    if not os.path.isfile(label):
        raise CheckpointError(f"{label}: checkpoint file not found")
    try:
        if zipfile.is_zipfile(label):
            obj = _read_zip(label)
        else:
            obj = _read_legacy(label)
    except CheckpointError:
        raise
    except Exception as err:  # any parse failure of untrusted bytes is an input error
        raise CheckpointError(
            f"{label}: corrupt or truncated checkpoint ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"{label}: checkpoint holds a {type(obj).__name__}, expected a dict")
    logger.debug("read checkpoint %s with top-level keys %s", label, list(obj))
    return obj


def flatten_state_dict(tree: Mapping, prefix: str = "") -> dict[str, np.ndarray]:
    """Flatten nested mappings into ``{'a.b.c': array}``, keeping only array leaves."""
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_state_dict(value, name + "."))
        elif isinstance(value, np.ndarray):
            flat[name] = value
        else:
            logger.debug("flatten_state_dict: skipping non-array leaf %s", name)
    return flat
