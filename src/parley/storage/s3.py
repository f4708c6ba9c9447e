"""Attachments' bytes in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage, R2...).

The same ``BlobStore`` port as ``storage.blobs.FileBlobStore``: each blob is one object named
``<prefix><sha256 hex>`` in the configured bucket, at the configured endpoint. The bucket stays
private: Parley reads the bytes and serves them itself (after ``access``'s checks), it never
hands out a bucket URL, so no object needs a public ACL, a presigned URL or a
``Content-Disposition`` of its own.

boto3 is blocking; every call runs in a thread pool of this store's own (``concurrency``
threads, and as many pooled connections), so that a slow or unreachable bucket ties up at most
those threads, never the event loop nor the default executor that other work (image re-encoding,
name resolution) shares. Each call has a connect and read timeout and a bounded number of
attempts (botocore's ``standard`` retry mode); whatever still fails is raised as
``StorageUnavailable`` (503 on the wire) with the bucket named and the secret never: the
exception's text is botocore's, which carries no credentials.

A ``put`` always writes the object, even when one by that hash is there already: its
``LastModified`` is then fresh, so that the orphan sweep (which deletes only objects older than
its grace time that no row names) cannot delete it under an upload that is about to commit its
row. A ``get`` reads at most ``max_object_bytes`` (the node's largest attachment) and checks the
bytes against their hash.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from parley.domain.errors import StorageUnavailable
from parley.storage.blobs import blob_key, check_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

T = TypeVar("T")

_HEX_KEY = re.compile(r"[0-9a-f]{64}")
#: S3 error codes that mean "no such object" on a read.
_MISSING = {"NoSuchKey", "404", "NotFound"}
#: Bytes read from a response body at a time.
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class S3Config:
    bucket: str
    #: Objects are ``<prefix><sha256>``; empty, or ending in ``/``.
    prefix: str = "attachments/"
    #: ``https://minio.example.com:9000``; None: AWS's own endpoint for ``region``.
    endpoint_url: str | None = None
    region: str = "us-east-1"
    #: None (both): boto3's own credential chain (``AWS_*`` variables, an instance role...).
    access_key: str | None = None
    secret_key: str | None = None
    #: ``https://endpoint/bucket/key`` rather than ``https://bucket.endpoint/key`` (MinIO,
    #: Ceph and Garage without wildcard DNS need it).
    path_style: bool = False
    timeout_secs: float = 10.0
    max_attempts: int = 3
    concurrency: int = 8
    #: The largest object a ``get`` reads (the node's ``max_attachment_bytes``).
    max_object_bytes: int = 512 * 1024 * 1024

    def __repr__(self) -> str:  # never the secret key, wherever a config is printed
        return (
            f"S3Config(bucket={self.bucket!r}, prefix={self.prefix!r}, "
            f"endpoint_url={self.endpoint_url!r}, region={self.region!r}, "
            f"path_style={self.path_style!r})"
        )


class S3BlobStore:
    def __init__(self, config: S3Config, *, client: S3Client | None = None) -> None:
        self.config = config
        self.prefix = config.prefix
        self._executor = ThreadPoolExecutor(
            max_workers=config.concurrency, thread_name_prefix="parley-s3"
        )
        self._client = client or _client_for(config)

    @property
    def where(self) -> str:
        """The bucket as the logs and errors name it (no credentials)."""
        endpoint = self.config.endpoint_url or f"AWS S3 ({self.config.region})"
        return f"bucket {self.config.bucket!r} at {endpoint}"

    def object_name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, data: bytes) -> str:
        key = blob_key(data)
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        await self._call(
            "put",
            partial(
                self._client.put_object,
                Bucket=self.config.bucket,
                Key=self.object_name(key),
                Body=data,
                ContentLength=len(data),
                ContentMD5=md5,
                ContentType="application/octet-stream",
            ),
        )
        return key

    async def get(self, key: str) -> bytes | None:
        data = await self._call("get", partial(self._read, self.object_name(key)))
        if data is not None and blob_key(data) != key:
            log.error("the object %s in the %s does not match its hash", key, self.where)
            raise StorageUnavailable("the file storage returned a damaged file")
        return data

    async def delete(self, key: str) -> None:
        await self._call(
            "delete",
            partial(
                self._client.delete_object, Bucket=self.config.bucket, Key=self.object_name(key)
            ),
        )

    async def listing(self) -> list[tuple[str, float]]:
        return await self._call("list", self._listing)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # In the store's threads -----------------------------------------------------------------

    def _read(self, name: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self.config.bucket, Key=name)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        body = answer["Body"]
        try:
            bound = self.config.max_object_bytes
            if answer.get("ContentLength", 0) > bound:
                raise _TooLarge(name)
            parts: list[bytes] = []
            held = 0
            while chunk := body.read(_CHUNK_BYTES):
                held += len(chunk)
                if held > bound:
                    raise _TooLarge(name)
                parts.append(chunk)
            return b"".join(parts)
        finally:
            body.close()

    def _listing(self) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.config.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item.get("Key", "")
                key = name[len(self.prefix) :]
                # Only what this store writes: any other object under the prefix is left alone.
                if name.startswith(self.prefix) and _HEX_KEY.fullmatch(key):
                    found.append((key, item["LastModified"].timestamp()))
        return found

    async def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except _TooLarge as exc:
            log.error("the object %s in the %s is larger than any attachment", exc, self.where)
            raise StorageUnavailable("the file storage returned a file over the limit") from None
        except (BotoCoreError, ClientError) as exc:
            # botocore's text names the operation and the endpoint, never the credentials.
            log.warning("attachment storage %s failed on the %s: %s", what, self.where, exc)
            raise StorageUnavailable(
                "the file storage is not available now; try again later"
            ) from None


class _TooLarge(Exception):
    pass


def _error_code(exc: ClientError) -> str:
    error: Any = exc.response.get("Error", {})
    return str(error.get("Code", ""))


def _client_for(config: S3Config) -> S3Client:
    session = boto3.session.Session(
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name=config.region,
    )
    client = session.client(
        "s3",
        endpoint_url=config.endpoint_url,
        config=Config(
            connect_timeout=config.timeout_secs,
            read_timeout=config.timeout_secs,
            retries={"max_attempts": config.max_attempts, "mode": "standard"},
            max_pool_connections=config.concurrency,
            s3={"addressing_style": "path" if config.path_style else "virtual"},
            signature_version="s3v4",
            # Checksums only where an operation requires one (ours send Content-MD5): the
            # CRC32 trailers botocore adds by default since 1.36 are refused by several
            # S3-compatible servers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            user_agent_extra="parley",
        ),
    )
    return cast("S3Client", client)
