"""Where attachments' bytes live: a content-addressed blob store.

``BlobStore`` is the port: bytes in, their SHA-256 (hex) out as the key; the same bytes twice
are one blob. ``FileBlobStore`` keeps each blob as a file in a directory of the data directory
(``<data_dir>/attachments`` by default), named by its hash under a two-letter fan-out
(``ab/abcdef...``), written atomically (a temporary file in the same directory, flushed, then
renamed over the name: a reader never sees half a file) with mode ``0600`` in directories of
mode ``0700``, like the rest of the data directory (``storage.db``).

``storage.s3.S3BlobStore`` implements the same port on an S3-compatible bucket (``s3_bucket``
set: ``bootstrap.blob_store_for``).

A ``put`` of bytes already stored marks them written now (the file's modification time, an
object's ``LastModified``): the orphan sweep deletes only blobs older than its grace time that
no row names, and an upload writes its blobs a moment before it commits their row, so bytes an
old removed chat left behind must not be swept from under a new upload of the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from parley.storage.db import DATA_DIR_MODE, DATABASE_FILE_MODE

_KEY = re.compile(r"[0-9a-f]{64}")


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """``key``, if it is a blob key (a SHA-256 in lowercase hex): never a path or a name."""
    if not _KEY.fullmatch(key):
        raise ValueError("a blob key is a SHA-256 in lowercase hex")
    return key


class BlobStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Store ``data``; returns its key (its SHA-256, hex)."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The blob, or None if there is none by that key."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob (none by that key: nothing happens)."""
        ...

    async def listing(self) -> list[tuple[str, float]]:
        """Every blob's key and when it was written (seconds since the epoch)."""
        ...

    async def close(self) -> None:
        """Release what the store holds (threads, connections); called when the node stops."""
        ...


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / check_key(key)

    async def put(self, data: bytes) -> str:
        key = blob_key(data)
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self._path(key))

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(lambda: path.unlink(missing_ok=True))

    async def listing(self) -> list[tuple[str, float]]:
        return await asyncio.to_thread(self._listing)

    async def close(self) -> None:
        pass

    def _listing(self) -> list[tuple[str, float]]:
        if not self.root.is_dir():
            return []
        found: list[tuple[str, float]] = []
        for fan in self.root.iterdir():
            if not fan.is_dir() or len(fan.name) != 2:
                continue
            for path in fan.iterdir():
                if _KEY.fullmatch(path.name):
                    with suppress(FileNotFoundError):
                        found.append((path.name, path.stat().st_mtime))
        return found

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():
            # The same content, by its hash: written now, for the orphan sweep's grace time.
            with suppress(FileNotFoundError):
                os.utime(path)
                return
        for directory in (self.root, path.parent):
            if not directory.exists():
                directory.mkdir(parents=True, mode=DATA_DIR_MODE, exist_ok=True)
                os.chmod(directory, DATA_DIR_MODE)  # mkdir's mode passes through the umask
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, DATABASE_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                temp.unlink()
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
