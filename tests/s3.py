"""The S3 protocol in process for the tests: moto's server (``ThreadedMotoServer``) on a free
port of 127.0.0.1, spoken to over HTTP by the real boto3 client, as a MinIO would be.

In CI (``CI=true``) a missing moto fails the test instead of skipping it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support import IN_CI

ACCESS_KEY = "parley-test-access"
SECRET_KEY = "parley-test-secret-" + "s" * 24
REGION = "eu-central-1"


def _moto() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        message = f"moto[server] is not installed ({exc})"
        if IN_CI:
            pytest.fail(message + "; CI must provide it (the dev extras)")
        pytest.skip(message)
    return ThreadedMotoServer


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server shared by the tests of one process (each test makes its
    own bucket)."""
    server = _moto()(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def new_bucket(endpoint: str) -> str:
    name = "parley-" + secrets.token_hex(6)
    s3_client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def s3_settings(endpoint: str, bucket: str, **more: Any) -> dict[str, Any]:
    """The settings of a node that keeps its attachments in ``bucket``."""
    return {
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_region": REGION,
        "s3_access_key": ACCESS_KEY,
        "s3_secret_key": SECRET_KEY,
        "s3_path_style": True,
        **more,
    }
