"""The committed JSON Schema of the WebSocket protocol matches the models."""

from __future__ import annotations

from pathlib import Path

from parley.protocol import client_message, json_schema_text, server_message

SCHEMA = Path(__file__).parent.parent / "docs" / "protocol.schema.json"


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA.read_text() == json_schema_text(), (
        "docs/protocol.schema.json is stale: run `make schema` and commit it"
    )


def test_every_message_type_is_in_the_schema() -> None:
    text = SCHEMA.read_text()
    for adapter in (client_message, server_message):
        for name in adapter.json_schema()["discriminator"]["mapping"]:
            assert f'"const": "{name}"' in text
