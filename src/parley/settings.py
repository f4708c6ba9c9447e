"""Settings, from command-line options and ``PARLEY_*`` environment variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from parley.origins import origin_of
from parley.storage.db import sqlite_url

#: A shorter metrics token could be guessed; secrets.token_urlsafe(32) gives 43 characters.
MIN_METRICS_TOKEN_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="Port to listen on (0: any free port).")
    data_dir: Path = Field(Path("parley-data"), description="Where the embedded database lives.")
    secrets_key_file: Path | None = Field(
        None,
        description="The keys that seal secrets at rest (TOTP secrets), outside the database; "
        "made (0600) on first start (default: secrets.key in data_dir). Every node of one "
        "database needs the same file.",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql://host/db (default: SQLite in data_dir)."
    )
    redis_url: str | None = Field(
        None, description="Redis URL for several nodes, e.g. redis://127.0.0.1:6379/0."
    )
    redis_channel: str = Field(
        "parley:notifications",
        description="Pub/sub channel; installations sharing one Redis need different ones.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra origins allowed to open WebSockets (the server's own always is).",
    )
    max_message_chars: int = Field(
        4000, ge=1, le=100_000, description="Longest message, in characters."
    )
    max_frame_bytes: int = Field(
        65536,
        ge=1024,
        description="Largest WebSocket frame; a bigger one closes the socket (1009).",
    )
    ws_per_message_deflate: bool = Field(
        False,
        description="Offer WebSocket compression (permessage-deflate) to clients. Off: it "
        "costs tens of KB of zlib state per socket, and chat frames are small.",
    )
    write_batch_max: int = Field(
        256,
        ge=1,
        le=10_000,
        description="Most messages committed together in one transaction (group commit).",
    )
    conversation_cache_size: int = Field(
        20_000,
        ge=0,
        le=1_000_000,
        description="Live conversations whose participants a node keeps in memory for sends "
        "(0: none, every send reads its conversation first).",
    )
    presence_grace_secs: float = Field(
        60, gt=0, description="How long an agent with no connection stays in their presence."
    )
    visitor_grace_secs: float = Field(
        30,
        gt=0,
        le=3600,
        description="How long a customer's chat goes without any socket of theirs (the tab "
        "closed, the network gone) before the agents are told the customer left.",
    )
    idle_away_secs: float = Field(
        300,
        ge=0,
        le=86_400,
        description="A staff browser idle this long turns available into away, and back when "
        "its user returns (0: never).",
    )
    max_photo_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest staff photo upload (PUT /api/v1/me/photo).",
    )
    max_attachment_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1024,
        le=512 * 1024 * 1024,
        description="Largest chat attachment on this node: no workgroup's policy allows more "
        "(each workgroup's own default is 10 MB, or this if smaller).",
    )
    attachments_dir: Path | None = Field(
        None,
        description="Where attachments' files are kept, named by their SHA-256 (default: "
        "attachments in data_dir). Every node of one installation needs the same directory.",
    )
    # Attachments in an S3-compatible bucket (docs/operations.md, "Attachments in S3").
    s3_bucket: str = Field(
        "",
        description="Keep attachments' files in this S3-compatible bucket (private; created "
        "beforehand) instead of attachments_dir (empty: the directory).",
    )
    s3_prefix: str = Field(
        "attachments/",
        max_length=512,
        description="Objects are named <prefix><sha256> in the bucket; a / is added if missing.",
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="The S3 API's URL, e.g. https://minio.example.com:9000 (default: AWS S3 in "
        "s3_region).",
    )
    s3_region: str = Field(
        "us-east-1", max_length=64, description="The bucket's region (signing needs one)."
    )
    s3_access_key: str | None = Field(
        None,
        description="Access key id (with s3_secret_key; neither: boto3's own chain, AWS_* "
        "variables or an instance role).",
    )
    s3_secret_key: SecretStr | None = Field(
        None,
        description="Secret access key; never logged. Prefer the variable to the option (ps "
        "shows options).",
    )
    s3_path_style: bool = Field(
        False,
        description="Path-style requests (endpoint/bucket/key), as MinIO, Ceph or Garage "
        "without wildcard DNS need; off: virtual-hosted (bucket.endpoint/key).",
    )
    s3_timeout_secs: float = Field(
        10, gt=0, le=300, description="Longest wait to connect to the bucket, and per read."
    )
    s3_max_attempts: int = Field(
        3, ge=1, le=10, description="Attempts per bucket request (with backoff) before a 503."
    )
    s3_concurrency: int = Field(
        8,
        ge=1,
        le=64,
        description="Bucket requests at once on one node (its own threads and connections).",
    )
    archive_export_keep_days: int = Field(
        7,
        ge=1,
        le=3650,
        description="How long a finished archive export (its JSON lines and HTML files) is "
        "kept before the retention job deletes it.",
    )
    heartbeat_secs: float = Field(
        20, gt=0, description="Interval of WebSocket pings and of the node heartbeat."
    )
    wallboard_push_interval_secs: float = Field(
        0.25,
        ge=0,
        le=10,
        description="A supervisor's wallboard is pushed at most once per this many seconds "
        "(changes in between go together).",
    )
    dispatch_interval_secs: float = Field(
        5, gt=0, description="The dispatcher's safety sweep, besides running on every change."
    )
    routing_full_reload_secs: float = Field(
        300,
        ge=0,
        le=86_400,
        description="How often the dispatcher loads a kept queue whole (0: on every run).",
    )
    dispatch_takeover_secs: float = Field(
        10,
        ge=0.1,
        le=3600,
        description="Several nodes: the longest a dead or hung node's workgroups go without a "
        "dispatcher before the other nodes run them.",
    )
    session_days: int = Field(7, ge=1, description="Lifetime of a console login session.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure (set this behind HTTPS).")
    node_id: str | None = Field(
        None, max_length=32, description="This node's name (default: random)."
    )
    smtp_host: str = Field(
        "", description="SMTP server for left messages (empty: no mail, the inbox only)."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls (port 587), ssl (implicit TLS, port 465) or none."
    )
    smtp_username: str = Field("", description="SMTP login (empty: none).")
    smtp_password: str = Field(
        "", description="SMTP password; prefer the variable to the option (ps shows options)."
    )
    smtp_from: str = Field(
        "parley@localhost", max_length=254, description="The From address of Parley's mail."
    )
    smtp_timeout_secs: float = Field(
        15, gt=0, le=300, description="Longest wait for the SMTP server, per attempt."
    )

    # Limits (docs/security.md, "Limits"). A rate is "N per T", e.g. "30 per 10 minutes".
    trusted_proxies: str = Field(
        "",
        description="Proxies (IPs or CIDR networks, space or comma separated) whose "
        "X-Forwarded-For/-Proto are believed; default none.",
    )
    login_ip_limit: str = Field(
        "30 per minute", description="Login attempts per client IP address."
    )
    login_failure_limit: str = Field(
        "10 per 15 minutes",
        description="Failed logins per account (existing or not) before it is locked.",
    )
    login_lockout_secs: int = Field(
        900, ge=1, le=86_400, description="How long an account stays locked after that."
    )
    two_factor_limit: str = Field(
        "5 per 5 minutes",
        description="Two-factor codes (TOTP or recovery) tried per account at sign-in.",
    )
    guest_invitation_hours: int = Field(
        72, ge=1, le=720, description="How long a guest's invitation into a room is valid."
    )
    chat_ip_limit: str = Field(
        "30 per 10 minutes", description="Chats opened per client IP address."
    )
    chat_workgroup_limit: str = Field(
        "60 per minute", description="Chats opened per workgroup, from everyone."
    )
    message_ip_limit: str = Field(
        "10 per 10 minutes", description="Messages left per client IP address."
    )
    message_workgroup_limit: str = Field(
        "60 per 10 minutes", description="Messages left per workgroup, from everyone."
    )
    message_email_limit: str = Field(
        "1 per 5 minutes",
        description="Emails about left messages per sender address and workgroup; the others "
        "stay in the inbox, not emailed.",
    )
    send_limit: str = Field(
        "30 per 15 seconds",
        description="Messages a visitor or staff member sends in one conversation over REST.",
    )
    attachment_limit: str = Field(
        "20 per minute",
        description="Files sent in one conversation from one address (each is written, an "
        "image decoded and re-encoded).",
    )
    photo_limit: str = Field(
        "10 per 10 minutes",
        description="Photo uploads per staff member (each one is decoded and re-encoded).",
    )
    kb_ip_limit: str = Field(
        "60 per minute",
        description="Knowledge-base searches and reads in the widget per client IP address.",
    )
    kb_workgroup_limit: str = Field(
        "1200 per minute",
        description="Knowledge-base searches and reads in the widget per workgroup, from everyone.",
    )
    shopper_ip_limit: str = Field(
        "30 per minute",
        description="A secret shopper's status and score (GET /shopper, POST /shopper/score) "
        "per client IP address.",
    )
    ws_message_limit: str = Field(
        "60 per 30 seconds",
        description="WebSocket messages (all but typing) per connection: a burst of N, then N "
        "per T; over it, an error rate_limited with retry_after.",
    )
    ws_typing_limit: str = Field(
        "10 per 10 seconds",
        description="WebSocket typing messages per connection; the excess is dropped silently.",
    )
    ws_connections_per_ip: int = Field(
        100, ge=1, description="Open WebSockets per client IP address on one node."
    )
    hello_timeout_secs: float = Field(
        10, gt=0, le=300, description="A WebSocket that has not said hello by then is closed."
    )
    max_hellos_in_flight: int = Field(
        128,
        ge=1,
        le=10_000,
        description="WebSocket hellos (each one's authentication and resume) handled at once on "
        "one node; one more is answered at once with an error busy (retry_after) and close 1013.",
    )
    max_body_bytes: int = Field(
        65_536, ge=1024, description="Largest request body; a bigger one gets 413 unread."
    )
    header_timeout_secs: float = Field(
        10,
        gt=0,
        le=300,
        description="A connection whose request line and headers are not complete by then is "
        "closed.",
    )
    max_header_bytes: int = Field(
        16_384, ge=1024, description="Largest request line and headers; bigger gets 431."
    )
    public_url: str | None = Field(
        None,
        description="The URL browsers use to reach Parley, e.g. https://chat.example.com (default: "
        "taken from each request's Host header and scheme). Its origin is the server's own "
        "origin for cookie-authenticated WebSockets; https turns on Secure cookies and HSTS.",
    )
    api_docs: bool = Field(
        False,
        description="Serve the interactive API reference at /docs and /redoc (their pages load "
        "scripts from a public CDN). /openapi.json is always served.",
    )
    api_token_max_days: int = Field(
        365, ge=1, le=3650, description="Longest lifetime of an API token, in days."
    )
    visitor_token_hours: float = Field(
        24,
        gt=0,
        description="How long after its chat ended a visitor token still reads the transcript.",
    )

    # Operations (docs/operations.md, "Metrics" and "Logs").
    metrics_token: str = Field(
        "",
        description="Serve Prometheus metrics at /metrics to requests bearing this token "
        "(Authorization: Bearer ...); at least 32 characters; empty: /metrics is off (404). "
        "Prefer the variable to the option (ps shows options).",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="Logs on standard error: json (one JSON object per line), text, or auto "
        "(text on a terminal, else json).",
    )

    @field_validator("s3_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,254}", value):
            raise ValueError(f"{value!r} is not a bucket name (letters, digits, '.', '-', '_')")
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("/") or any(not " " < c <= "~" for c in value):
            raise ValueError("the prefix is visible ASCII without spaces, not starting with /")
        return value if not value or value.endswith("/") else value + "/"

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#@]+(/[^\s?#]*)?", value):
            raise ValueError(f"{value!r} is not an http(s) URL without credentials")
        return value

    @field_validator("s3_access_key", "s3_secret_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _s3_credentials(self) -> Settings:
        if (self.s3_access_key is None) != (self.s3_secret_key is None):
            raise ValueError("give both s3_access_key and s3_secret_key, or neither")
        return self

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # PARLEY_ALLOWED_ORIGINS holds origins separated by spaces or commas, not JSON.
        if isinstance(value, str):
            return [v for v in value.replace(",", " ").split() if v]
        return value

    @field_validator(
        "login_ip_limit",
        "login_failure_limit",
        "two_factor_limit",
        "chat_ip_limit",
        "chat_workgroup_limit",
        "message_ip_limit",
        "message_workgroup_limit",
        "message_email_limit",
        "send_limit",
        "photo_limit",
        "attachment_limit",
        "kb_ip_limit",
        "kb_workgroup_limit",
        "shopper_ip_limit",
        "ws_message_limit",
        "ws_typing_limit",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            item = parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like '30 per 10 minutes'") from None
        if item.amount < 1:
            raise ValueError(f"{value!r}: a rate allows at least 1")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str) -> str:
        value = value.strip()
        if value and (
            len(value) < MIN_METRICS_TOKEN_CHARS or not all("!" <= c <= "~" for c in value)
        ):
            raise ValueError(
                f"the metrics token must be at least {MIN_METRICS_TOKEN_CHARS} visible ASCII "
                "characters, no spaces (make one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        for entry in value.replace(",", " ").split():
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (names and '*' are not allowed)"
                ) from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        return value_list(self.trusted_proxies)

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        # Compared with a browser's Origin header and written into the widget page's CSP, so
        # each must be exactly an origin: scheme://host[:port], nothing more.
        return [origin_of(v, what="allowed origin", path_allowed=False) for v in value]

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        origin_of(value, what="public URL", path_allowed=True)
        return value.strip().rstrip("/")

    def public_origin(self) -> str | None:
        """The origin of ``public_url`` (``https://chat.example.com``), if it is set."""
        return None if self.public_url is None else origin_of(self.public_url)

    def resolved_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    def resolved_secrets_key_file(self) -> Path:
        return self.secrets_key_file or self.data_dir / "secrets.key"

    def resolved_attachments_dir(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"


def value_list(value: str) -> list[str]:
    """Items separated by spaces or commas."""
    return [v for v in value.replace(",", " ").split() if v]
