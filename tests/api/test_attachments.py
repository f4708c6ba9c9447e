"""Attachments through the public API, on both backends: a visitor and an agent send files into
a customer chat (an entry of the log, idempotent by client id), images are re-encoded with a
thumbnail, files are served only to whoever reads the chat (with ``Content-Disposition:
attachment``, ``nosniff`` and a sandbox CSP), and every bad input gets its typed error and
stores nothing: over size (before the body is read), empty, a type that lies, a path in the
name, an image bomb, too many per chat, a type the workgroup does not allow.

Each test runs on the files store (SQLite and PostgreSQL) and on an S3 bucket (moto's server,
the real protocol over HTTP; SQLite: the store does not depend on the database)."""

from __future__ import annotations

import asyncio
import io
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.api.test_directory import claimed_bomb, png
from tests.api.test_transfers import chatting
from tests.conftest import make_world
from tests.s3 import new_bucket, s3_endpoint, s3_settings
from tests.support import World

from parley.domain.access import StaffRole
from parley.storage.blobs import FileBlobStore

POLICY = "/api/v1/admin/workgroups/sales/attachments"


__all__ = ["s3_endpoint"]  # the moto server's fixture, for the S3 runs

WHERE = [("sqlite", "files"), ("postgres", "files"), ("sqlite", "s3")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "where" in metafunc.fixturenames:
        metafunc.parametrize("where", WHERE, ids=[f"{b}-{s}" for b, s in WHERE])


@pytest.fixture
async def world(
    where: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """The conftest's world, its attachments in the data directory or in a bucket of its own."""
    backend, store = where
    overrides: dict[str, Any] = {}
    if store == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        overrides = s3_settings(endpoint, new_bucket(endpoint))
    async for w in make_world(backend, tmp_path, **overrides):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        yield w


def files(cid: str) -> str:
    return f"/api/v1/conversations/{cid}/attachments"


def jpeg(size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, format="JPEG", exif=b"Exif\x00\x00secret")
    return out.getvalue()


async def upload(
    world: World,
    cid: str,
    data: bytes,
    *,
    visitor: str | None = None,
    staff: str | None = None,
    name: str = "photo.png",
    media_type: str = "image/png",
    client_id: str = "f1",
    **params: Any,
) -> httpx.Response:
    headers = {"Content-Type": media_type}
    if visitor is not None:
        headers["X-Visitor-Token"] = visitor
    client = world.staff_http(staff) if staff is not None else world.node.http()
    async with client as http:
        return await http.post(
            files(cid),
            content=data,
            headers=headers,
            params={"client_id": client_id, "name": name, **params},
        )


async def get(
    world: World, path: str, *, visitor: str | None = None, staff: str | None = None
) -> httpx.Response:
    client = world.staff_http(staff) if staff is not None else world.node.http()
    headers = {} if visitor is None else {"X-Visitor-Token": visitor}
    async with client as http:
        return await http.get(path, headers=headers)


async def blobs(world: World) -> list[str]:
    """The keys of the blobs the node's store holds (files or objects)."""
    return sorted(key for key, _ in await world.parley.blobs.listing())


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def a_chat(world: World, alice: Any) -> tuple[str, str]:
    chat = await chatting(world, alice)
    return chat["conversation"]["id"], chat["visitor_token"]


async def test_a_pasted_image_is_re_encoded_with_a_thumbnail(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        original = jpeg((1200, 900))
        r = await upload(
            world, cid, original, visitor=token, name="image.jpg", media_type="image/jpeg"
        )
        assert r.status_code == 200, r.text
        entry = r.json()
        assert entry["kind"] == "message" and entry["author"] == "visitor"
        attachment = entry["body"]["attachment"]
        assert entry["body"]["text"] == "image.jpg"
        assert attachment | {"id": "x"} == {
            "id": "x",
            "name": "image.jpg",
            "media_type": "image/jpeg",
            "size": attachment["size"],
            "image": True,
            "width": 1200,
            "height": 900,
        }
        # The agent is told at once, like for any message.
        seen = await alice.expect(
            lambda m: m["type"] == "entry" and m["entry"]["seq"] == entry["seq"]
        )
        assert seen["entry"]["body"]["attachment"]["id"] == attachment["id"]

        thumb = await get(world, f"{files(cid)}/{attachment['id']}/thumbnail", staff="alice")
        assert thumb.status_code == 200, thumb.text
        assert thumb.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(thumb.content)) as image:
            assert image.size == (320, 240)
        whole = await get(world, f"{files(cid)}/{attachment['id']}", staff="alice")
        assert whole.status_code == 200
        assert whole.content != original  # drawn again: no EXIF of the upload
        assert b"secret" not in whole.content
        with Image.open(io.BytesIO(whole.content)) as image:
            assert image.size == (1200, 900) and "exif" not in image.info
        assert whole.headers["content-disposition"] == (
            "attachment; filename=\"image.jpg\"; filename*=UTF-8''image.jpg"
        )
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert whole.headers["content-security-policy"].startswith("default-src 'none'; sandbox")
        # The visitor reads it too; the transcript carries it.
        assert (await get(world, f"{files(cid)}/{attachment['id']}", visitor=token)).content == (
            whole.content
        )
        transcript = await get(world, f"/api/v1/conversations/{cid}", staff="alice")
        assert transcript.json()["entries"][-1]["body"]["attachment"]["id"] == attachment["id"]
        # Stored by content hash; files of mode 0600.
        stored = await blobs(world)
        assert len(stored) == 2
        assert all(len(key) == 64 for key in stored)
        if isinstance(world.parley.blobs, FileBlobStore):
            root = world.parley.blobs.root
            for key in stored:
                assert stat.S_IMODE((root / key[:2] / key).stat().st_mode) == 0o600


async def test_a_repeated_client_id_answers_with_the_first_entry(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, _ = await a_chat(world, alice)
        first = await upload(world, cid, png(), staff="alice", client_id="same")
        again = await upload(world, cid, png((10, 10)), staff="alice", client_id="same")
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert len(await blobs(world)) == 2  # the second upload's blobs are not kept


async def test_text_and_pdf_files_are_served_as_attachments(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        name = 'Rechnung "März"; 1.txt'
        r = await upload(
            world, cid, "Grüße\n".encode(), visitor=token, name=name, media_type="text/plain"
        )
        assert r.status_code == 200, r.text
        body = r.json()["body"]["attachment"]
        assert body["image"] is False and "width" not in body
        served = await get(world, f"{files(cid)}/{body['id']}", staff="alice")
        assert served.content == "Grüße\n".encode()
        assert served.headers["content-disposition"] == (
            'attachment; filename="Rechnung _M_rz__ 1.txt"; '
            "filename*=UTF-8''Rechnung%20%22M%C3%A4rz%22%3B%201.txt"
        )
        no_thumb = await get(world, f"{files(cid)}/{body['id']}/thumbnail", staff="alice")
        assert error(no_thumb) == (404, "not_found")
        pdf = b"%PDF-1.4\n%fake but signed\n"
        r = await upload(
            world,
            cid,
            pdf,
            staff="alice",
            name="a.pdf",
            media_type="application/pdf",
            client_id="p",
        )
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("data", "name", "media_type", "expected"),
    [
        (b"", "a.txt", "text/plain", (422, "empty_attachment")),
        (b"GIF89a" + b"\x00" * 20, "cat.png", "image/png", (422, "type_mismatch")),
        (b"<html><script>alert(1)</script>", "x.png", "image/png", (422, "type_mismatch")),
        (b"\x89PNG\r\n\x1a\nnot really", "x.txt", "text/plain", (422, "type_mismatch")),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "forged.png", "image/png", (422, "bad_image")),
        (claimed_bomb(), "bomb.png", "image/png", (422, "bad_image")),
        (b"MZ\x90\x00", "setup.exe", "application/x-msdownload", (422, "type_not_allowed")),
        (b"hello", "../x.txt", "text/plain", (422, "bad_file_name")),
        (b"hello", "a/b.txt", "text/plain", (422, "bad_file_name")),
        (b"hello", "a\\b.txt", "text/plain", (422, "bad_file_name")),
        (b"hello", "..", "text/plain", (422, "bad_file_name")),
        (b"hello", "a\x00b.txt", "text/plain", (422, "bad_file_name")),
        (b"hello", "a\nb.txt", "text/plain", (422, "bad_file_name")),
        (b"hello", "a\u202eb.txt", "text/plain", (422, "bad_file_name")),
        (b"hello", "   ", "text/plain", (422, "bad_file_name")),
    ],
)
async def test_bad_files_get_a_typed_error_and_store_nothing(
    world: World, data: bytes, name: str, media_type: str, expected: tuple[int, str]
) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        r = await upload(world, cid, data, visitor=token, name=name, media_type=media_type)
        assert error(r) == expected, r.text
        if expected[1] == "type_mismatch":
            assert r.json()["error"]["details"]["declared"] == media_type
        assert await blobs(world) == []
        transcript = await get(world, f"/api/v1/conversations/{cid}", visitor=token)
        assert [e for e in transcript.json()["entries"] if "attachment" in e["body"]] == []


async def test_over_size_is_refused_before_the_body_is_read(world: World) -> None:
    await world.add_staff("admin", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("admin") as http:
        r = await http.put(
            POLICY, json={"max_bytes": 2000, "allowed_types": ["image/png"], "max_per_chat": 5}
        )
    assert r.status_code == 200, r.text
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        big = png((400, 300), mode="RGB") + b"\x00" * 3000
        r = await upload(world, cid, big, visitor=token)
        assert error(r) == (413, "attachment_too_large")
        assert r.json()["error"]["details"] == {"max_bytes": 2000}

        # A streamed body without a length: refused once it goes over.
        async def chunks() -> Any:
            for _ in range(10):
                yield b"\x89PNG" + b"\x00" * 996

        async with world.node.http() as http:
            r = await http.post(
                files(cid),
                content=chunks(),
                headers={"Content-Type": "image/png", "X-Visitor-Token": token},
                params={"client_id": "s", "name": "x.png"},
            )
        assert error(r) == (413, "attachment_too_large")
        # Over the node's ceiling: refused by the body limit on its header, before any route
        # runs (a raw request: no client sends a length it does not mean to send).
        ceiling = world.parley.settings.max_attachment_bytes
        reader, writer = await asyncio.open_connection("127.0.0.1", world.node.port)
        writer.write(
            f"POST {files(cid)}?client_id=c&name=x.png HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: image/png\r\nX-Visitor-Token: {token}\r\n"
            f"Content-Length: {ceiling + 1}\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        assert status_line.split()[1] == b"413"
        assert await blobs(world) == []


async def test_the_policy_limits_types_and_files_per_chat(world: World) -> None:
    await world.add_staff("admin", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("admin") as http:
        r = await http.get(POLICY)
        assert r.json() == {
            "max_bytes": 10 * 1024 * 1024,
            "allowed_types": [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
            ],
            "max_per_chat": 20,
        }
        bad = await http.put(
            POLICY, json={"max_bytes": 10, "allowed_types": ["text/html"], "max_per_chat": 1}
        )
        assert error(bad) == (422, "invalid_input")
        too_big = await http.put(
            POLICY, json={"max_bytes": 2**30, "allowed_types": [], "max_per_chat": 1}
        )
        assert error(too_big) == (422, "invalid_input")
        r = await http.put(
            POLICY,
            json={"max_bytes": 100_000, "allowed_types": ["IMAGE/PNG"], "max_per_chat": 1},
        )
        assert r.json() == {"max_bytes": 100_000, "allowed_types": ["image/png"], "max_per_chat": 1}
    # Agents do not set it.
    async with world.staff_http("alice") as http:
        assert error(await http.put(POLICY, json=r.json())) == (403, "forbidden")
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        policy = await get(world, f"{files(cid)}/policy", visitor=token)
        assert policy.json()["allowed_types"] == ["image/png"]
        r = await upload(world, cid, b"hi", visitor=token, name="a.txt", media_type="text/plain")
        assert error(r) == (422, "type_not_allowed")
        assert (await upload(world, cid, png(), visitor=token)).status_code == 200
        r = await upload(world, cid, png(), visitor=token, client_id="f2")
        assert error(r) == (409, "too_many_attachments")


async def test_not_yours_reads_like_does_not_exist(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_workgroup("support")
    await world.add_staff("bob", workgroups=["support"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        other_cid, other_token = await a_chat(world, alice)
        r = await upload(world, cid, png(), visitor=token)
        aid = r.json()["body"]["attachment"]["id"]
        path = f"{files(cid)}/{aid}"
        missing = await get(world, f"{files(cid)}/{'0' * 32}", visitor=token)
        assert missing.json() == {"error": {"code": "not_found", "message": "no such attachment"}}
        no_chat = await get(world, f"{files('0' * 32)}/{aid}", visitor=token)
        # Another visitor, an agent of another workgroup: as for a conversation that is not there.
        for who in ({"visitor": other_token}, {"staff": "bob"}):
            r = await get(world, path, **who)
            assert r.json() == no_chat.json(), who
            assert r.status_code == 404
            r = await get(world, f"{path}/thumbnail", **who)
            assert r.json() == no_chat.json()
        # The attachment asked for under another conversation the reader may read: no such file.
        r = await get(world, f"{files(other_cid)}/{aid}", visitor=other_token)
        assert r.json() == missing.json()
        # Uploads: a stranger is told the same as for no conversation; a reader who is not a
        # participant is refused.
        r = await upload(world, cid, png(), visitor=other_token)
        assert r.json() == no_chat.json()
        r = await upload(world, cid, png(), staff="bob")
        assert r.json() == no_chat.json()
        async with world.node.http() as http:
            r = await http.get(path)
        assert r.status_code == 401


async def test_a_private_notes_file_is_for_staff_only(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        r = await upload(world, cid, png(), staff="alice", private="true")
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "note"
        aid = r.json()["body"]["attachment"]["id"]
        assert (await get(world, f"{files(cid)}/{aid}", staff="alice")).status_code == 200
        for path in (f"{files(cid)}/{aid}", f"{files(cid)}/{aid}/thumbnail"):
            r = await get(world, path, visitor=token)
            assert r.json() == {"error": {"code": "not_found", "message": "no such attachment"}}
        # The visitor's log has a placeholder in its place.
        transcript = await get(world, f"/api/v1/conversations/{cid}", visitor=token)
        assert transcript.json()["entries"][-1]["kind"] == "hidden"
        assert transcript.json()["entries"][-1]["body"] == {}
        # A visitor cannot write a private note.
        r = await upload(world, cid, png(), visitor=token, private="true", client_id="v")
        assert error(r) == (403, "forbidden")
        assert len(await blobs(world)) == 2


async def test_no_files_once_the_chat_ended(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        await alice.request({"type": "end", "conversation_id": cid})
        r = await upload(world, cid, png(), visitor=token)
        assert error(r) == (409, "conflict")
        assert await blobs(world) == []


async def test_visitor_uploads_are_rate_limited(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        cid, token = await a_chat(world, alice)
        rule = world.parley.attachments.rule
        codes = []
        for i in range(rule.amount + 1):
            r = await upload(
                world,
                cid,
                b"hi",
                visitor=token,
                name="a.txt",
                media_type="text/plain",
                client_id=f"r{i}",
            )
            codes.append(r.status_code)
        assert codes[-1] == 429
        assert "retry-after" in r.headers


async def test_the_files_of_a_removed_chat_are_deleted_by_the_sweep(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    service = world.parley.attachments
    async with world.agent("alice") as alice:
        gone, gone_token = await a_chat(world, alice)
        kept, kept_token = await a_chat(world, alice)
        assert (await upload(world, gone, png(), visitor=gone_token)).status_code == 200
        r = await upload(
            world, kept, b"kept", visitor=kept_token, name="k.txt", media_type="text/plain"
        )
        assert r.status_code == 200
    assert len(await blobs(world)) == 3
    async with world.parley.db.write() as tx:
        assert await world.parley.stores.archive.remove_conversation(tx, gone)
    # Files younger than the grace time stay (an upload in flight writes them before its row).
    assert await service.remove_orphans() == 0
    later = time.time() + 2 * 3600
    service._wall = lambda: later
    assert await service.remove_orphans() == 2
    remaining = await blobs(world)
    assert len(remaining) == 1 and await world.parley.blobs.get(remaining[0]) == b"kept"
