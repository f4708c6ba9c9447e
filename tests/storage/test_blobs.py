"""The directory's blob store: a put of bytes already there marks them written now, so the
orphan sweep's grace time counts from the latest upload of the same bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from parley.storage.blobs import FileBlobStore


async def test_a_second_put_of_the_same_bytes_refreshes_its_time(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "attachments")
    key = await store.put(b"same")
    path = tmp_path / "attachments" / key[:2] / key
    old = time.time() - 7200
    os.utime(path, (old, old))
    assert [written for _, written in await store.listing()] == [old]
    assert await store.put(b"same") == key
    [(listed, written)] = await store.listing()
    assert listed == key and written > time.time() - 60
    assert path.read_bytes() == b"same"
    await store.close()
