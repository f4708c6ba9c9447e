"""Attachments in an S3-compatible bucket (``storage.s3``), against moto's S3 server over HTTP:
objects named ``<prefix><sha256>``, the sweep leaving alone what is not a blob of ours, a bucket
that does not answer or is gone (503 ``storage_unavailable``, nothing stored, the secret never
logged), and reads bounded and checked against the hash. The API tests of
``test_attachments.py`` run on a bucket too."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.api.test_attachments import a_chat, error, files, get, upload
from tests.api.test_directory import png
from tests.conftest import make_world
from tests.s3 import SECRET_KEY, new_bucket, s3_client, s3_endpoint, s3_settings
from tests.smtp import free_port
from tests.support import World

from parley.bootstrap import blob_store_for
from parley.domain.errors import StorageUnavailable
from parley.settings import Settings
from parley.storage.blobs import FileBlobStore, blob_key
from parley.storage.s3 import S3BlobStore, S3Config

__all__ = ["s3_endpoint"]


async def bucket_world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    async for w in make_world("sqlite", tmp_path, **settings):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        yield w


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    return new_bucket(s3_endpoint)


@pytest.fixture
async def world(s3_endpoint: str, bucket: str, tmp_path: Path) -> AsyncIterator[World]:
    async for w in bucket_world(
        tmp_path, **s3_settings(s3_endpoint, bucket, s3_prefix="tenant-a/files")
    ):
        yield w


def objects(endpoint: str, bucket: str) -> list[str]:
    listed = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


async def test_objects_are_named_by_hash_under_the_prefix(
    world: World, s3_endpoint: str, bucket: str
) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        r = await upload(world, cid, b"hello", visitor=token, name="a.txt", media_type="text/plain")
        assert r.status_code == 200, r.text
        aid = r.json()["body"]["attachment"]["id"]
        # The prefix got its slash; the object is the hash, nothing of the file's name.
        assert objects(s3_endpoint, bucket) == ["tenant-a/files/" + blob_key(b"hello")]
        served = await get(world, f"{files(cid)}/{aid}", staff="alice")
        assert served.content == b"hello"
        assert served.headers["content-disposition"].startswith("attachment;")
        # The bucket is never where a reader is sent.
        assert "location" not in served.headers and s3_endpoint not in served.text


async def test_the_sweep_deletes_only_unreferenced_blobs_of_its_prefix(
    world: World, s3_endpoint: str, bucket: str
) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    s3 = s3_client(s3_endpoint)
    foreign = ["tenant-a/files/README", "tenant-b/" + "0" * 64, "0" * 64]
    for name in foreign:
        s3.put_object(Bucket=bucket, Key=name, Body=b"not parley's")
    async with world.agent("alice") as alice:
        gone, gone_token = await a_chat(world, alice)
        kept, kept_token = await a_chat(world, alice)
        assert (await upload(world, gone, png(), visitor=gone_token)).status_code == 200
        r = await upload(
            world, kept, b"kept", visitor=kept_token, name="k.txt", media_type="text/plain"
        )
        assert r.status_code == 200
    async with world.parley.db.write() as tx:
        assert await world.parley.stores.archive.remove_conversation(tx, gone)
    service = world.parley.attachments
    assert await service.remove_orphans() == 0  # within the grace time
    later = time.time() + 2 * 3600
    service._wall = lambda: later
    assert await service.remove_orphans() == 2  # the image and its thumbnail
    assert objects(s3_endpoint, bucket) == sorted([*foreign, "tenant-a/files/" + blob_key(b"kept")])


async def test_an_unreachable_bucket_is_a_503_and_stores_nothing(
    tmp_path: Path, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="parley")
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = s3_settings(nowhere, bucket, s3_max_attempts=1, s3_timeout_secs=2)
    async for world in bucket_world(tmp_path, **settings):
        await world.add_staff("alice", workgroups=["sales"])
        async with world.agent("alice") as alice:
            cid, token = await a_chat(world, alice)
            r = await upload(world, cid, png(), visitor=token)
            assert error(r) == (503, "storage_unavailable"), r.text
            assert r.headers["retry-after"] == "30"
            assert r.json()["error"]["message"] == (
                "the file storage is not available now; try again later"
            )
            # No entry, no row: the chat reads as before, and its count of files is 0.
            transcript = await get(world, f"/api/v1/conversations/{cid}", visitor=token)
            assert [e for e in transcript.json()["entries"] if "attachment" in e["body"]] == []
            async with world.parley.db.read() as tx:
                assert await world.parley.attachments._attachments.count(tx, cid) == 0
            # The sweep fails loudly too (the maintenance loop logs it and comes back later).
            with pytest.raises(StorageUnavailable):
                await world.parley.attachments.remove_orphans()
    assert "attachment storage put failed on the bucket" in caplog.text
    assert nowhere in caplog.text
    assert SECRET_KEY not in caplog.text
    assert SECRET_KEY not in repr(Settings(**settings))


async def test_a_bucket_gone_is_a_503_on_read_not_a_404(
    world: World, s3_endpoint: str, bucket: str
) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        r = await upload(world, cid, b"hi", visitor=token, name="a.txt", media_type="text/plain")
        aid = r.json()["body"]["attachment"]["id"]
        s3 = s3_client(s3_endpoint)
        for name in objects(s3_endpoint, bucket):
            s3.delete_object(Bucket=bucket, Key=name)
        # The object gone, the bucket there: the file is not found.
        assert error(await get(world, f"{files(cid)}/{aid}", visitor=token)) == (404, "not_found")
        s3.delete_bucket(Bucket=bucket)
        r = await get(world, f"{files(cid)}/{aid}", visitor=token)
        assert error(r) == (503, "storage_unavailable")
        # Whoever may not read the chat is refused before the bucket is asked.
        async with world.node.http() as http:
            r = await http.get(f"{files(cid)}/{aid}", headers={"X-Visitor-Token": "forged"})
        assert r.status_code == 401


async def test_reads_are_bounded_and_checked_against_the_hash(
    s3_endpoint: str, bucket: str
) -> None:
    s3 = s3_client(s3_endpoint)
    store = S3BlobStore(
        S3Config(
            bucket=bucket,
            prefix="p/",
            endpoint_url=s3_endpoint,
            region="eu-central-1",
            access_key="parley-test-access",
            secret_key=SECRET_KEY,
            path_style=True,
            max_object_bytes=1024,
        )
    )
    try:
        key = await store.put(b"x" * 1024)
        assert await store.get(key) == b"x" * 1024
        assert await store.put(b"x" * 1024) == key  # the same bytes: the same object
        assert [k for k, _ in await store.listing()] == [key]
        big = blob_key(b"y" * 1025)
        s3.put_object(Bucket=bucket, Key="p/" + big, Body=b"y" * 1025)
        with pytest.raises(StorageUnavailable, match="over the limit"):
            await store.get(big)
        damaged = blob_key(b"z")
        s3.put_object(Bucket=bucket, Key="p/" + damaged, Body=b"not z")
        with pytest.raises(StorageUnavailable, match="damaged"):
            await store.get(damaged)
        assert await store.get(blob_key(b"none")) is None
        await store.delete(key)
        await store.delete(key)  # none: nothing happens
        assert await store.get(key) is None
        with pytest.raises(ValueError, match="SHA-256"):
            await store.get("../" + key)
        assert SECRET_KEY not in repr(store.config)
    finally:
        await store.close()


def test_s3_settings_are_checked() -> None:
    good = Settings(s3_bucket="b1", s3_prefix="x", s3_access_key="a", s3_secret_key="s")
    assert good.s3_prefix == "x/"
    assert Settings(s3_prefix="").s3_prefix == ""
    for bad in (
        {"s3_bucket": "b1", "s3_access_key": "a"},  # a key without its secret
        {"s3_bucket": "no/slash"},
        {"s3_prefix": "/abs"},
        {"s3_prefix": "a b"},
        {"s3_endpoint_url": "ftp://minio"},
        {"s3_endpoint_url": "https://user:pw@minio"},
    ):
        with pytest.raises(ValueError, match="validation error"):
            Settings(**bad)


async def test_the_bucket_comes_from_parley_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "PARLEY_S3_BUCKET": "chat-files",
        "PARLEY_S3_ENDPOINT_URL": "https://minio.internal:9000/",
        "PARLEY_S3_REGION": "garage",
        "PARLEY_S3_ACCESS_KEY": "AKIAPARLEY",
        "PARLEY_S3_SECRET_KEY": SECRET_KEY,
        "PARLEY_S3_PATH_STYLE": "true",
        "PARLEY_S3_CONCURRENCY": "4",
    }.items():
        monkeypatch.setenv(name, value)
    store = blob_store_for(Settings())
    try:
        assert isinstance(store, S3BlobStore)
        assert store.config.secret_key == SECRET_KEY
        assert (store.config.endpoint_url, store.config.region) == (
            "https://minio.internal:9000",
            "garage",
        )
        assert store.config.path_style and store.config.concurrency == 4
        assert store.prefix == "attachments/"
        assert SECRET_KEY not in repr(store.config) + repr(Settings())
    finally:
        await store.close()
    monkeypatch.delenv("PARLEY_S3_BUCKET")
    assert isinstance(blob_store_for(Settings()), FileBlobStore)


async def test_the_503_is_in_the_openapi_document(world: World) -> None:
    async with world.node.http() as http:
        spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    upload_route = paths["/api/v1/conversations/{conversation_id}/attachments"]["post"]
    assert "503" in upload_route["responses"]
    assert (
        "503"
        in paths["/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"]["get"][
            "responses"
        ]
    )
