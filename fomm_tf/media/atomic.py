"""Atomic writes: a file or a folder appears complete or not at all (no OpenCV, no TF).

Writers write to a hidden temporary file (or folder) in the destination folder and rename it
over the final path only once everything was written, so readers see the old file or the
complete new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import FommError, InputError

__all__ = ["AtomicFile", "atomic_dir", "atomic_path"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


class AtomicFile:
    """A hidden temporary file next to ``path`` that is either renamed onto it or deleted."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{self.path}: cannot write a file here (it is a folder)")
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{self.path}: cannot create its folder ({err.strerror})") from None
        name = self.path.name
        for _ in range(100):
            tmp = parent / f".tmp-{secrets.token_hex(4)}-{name}"
            try:
                # O_EXCL: never clobber; mode 0o666 so the umask decides the final permissions
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:  # pragma: no cover - 32 random bits collided
                continue
            except OSError as err:
                raise InputError(f"{self.path}: cannot write here ({err.strerror})") from None
            os.close(fd)
            self.tmp = tmp
            break
        else:  # pragma: no cover
            raise FommError(f"{self.path}: could not create a temporary file")
        self.finished = False

    def commit(self) -> None:
        """Move the temporary file onto the final path (atomic on one filesystem)."""
        try:
            os.replace(self.tmp, self.path)
        except OSError:
            self.discard()
            raise
        self.finished = True
        logger.debug("wrote %s", self.path)

    def discard(self) -> None:
        """Delete the temporary file; the final path is left untouched."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        self.finished = True


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in the folder of ``path``; rename it onto ``path`` on success.

    The temporary file (``.tmp-XXXXXXXX-<name>``, created empty, same suffix so tools
    that pick the format from the suffix keep working) lives in the destination folder, so
    the final ``os.replace`` is atomic: readers see the old file or the complete new one,
    never a partial one. If the ``with`` block raises, the temporary file is removed and the
    destination is left as it was. Missing parent folders are created.

    Example::

        with atomic_path("out/stats.json") as tmp:
            tmp.write_text(json.dumps(stats))
    """
    target = AtomicFile(path)
    try:
        yield target.tmp
    except BaseException:
        target.discard()
        raise
    target.commit()


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` when the block ends.

    A previous ``path`` is moved aside, the new folder renamed into place, then the old one
    removed; if the block raises, the temporary folder is removed and ``path`` is left as it
    was. Missing parent folders are created. The folder gets the permissions the umask
    gives a new folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the result from other users
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
