"""Parley side by side with a bare relay: messages per second of server CPU, latency, memory.

Every server (Parley on SQLite, Parley on PostgreSQL + Redis, two Parley nodes on one
PostgreSQL + Redis, and the floor relays of ``bench/relay.py``) runs as its own process pinned
to core 0; this process is the load generator, pinned to core 1. The figure that counts is
messages per second of *server* CPU (utime + stime of the server process, all threads, from
/proc/<pid>/stat), so that a noisy shared machine moves Parley and the floors alike; the
closed-loop runs are interleaved (Parley, floor, floor_bare, ..., Parley, floor, ...) and
reported as min/median/max with wall throughput, the load generator's CPU and CPU steal.

Scenarios (docs/performance.md says what each measures and what we aim at):

- closed loop: N visitor/agent pairs, k messages in flight per pair, alternating direction;
- open loop at 1,000 and 10,000 msg/s: send-to-delivery latency p50/p99/p99.9 (commit
  included: Parley delivers after commit);
- idle authenticated visitor connections: KB per connection from the server's RSS;
- a reconnect storm: visitors resuming with cursors, resumes per second;
- a day in the life: agents and live chats, a message every few seconds per side with typing,
  reporting the server's CPU share and latencies;
- routing: the pure routing decision of ``bench/routing_decision.py`` at 1,000 agents and
  10,000 waiting.

Everything goes through Parley's public API (REST and /ws), except that the staff accounts are
created offline with cheap argon2 parameters (as the test suite does), so that a thousand
logins do not cost the server minutes of password hashing.

    python bench/side_by_side.py --quick --json bench-quick.json     # under five minutes
    python bench/side_by_side.py --json bench-full.json              # the full sizes
    python bench/side_by_side.py --quick --skip postgres,day         # a subset
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import itertools
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

SELF = Path(__file__).resolve()
BENCH = SELF.parent
ROOT = BENCH.parent
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

PG_URL = os.environ.get("PARLEY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PARLEY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "bench-password-1"  # a throwaway account on a throwaway database
ADMIN = "benchadmin"
TEXT = "Hello, I have a question about my order, can you help?"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CORE, LOADGEN_CORE = 0, 1
#: Source addresses of the load generator's sockets: 127.0.0.0/8 is all loopback, and each
#: address has its own ~28,000 ephemeral ports towards one server port.
SOURCE_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 18)]
SCENARIOS = ("closed", "latency", "idle", "day", "storm", "routing", "postgres", "two_nodes")

T = TypeVar("T")


class Busy(Exception):
    """The node refused a hello (``error`` ``busy``, close 1013: admission control)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"busy, retry after {retry_after} s")
        self.retry_after = retry_after


class BenchError(Exception):
    """Something went wrong that makes the numbers meaningless: stop, say what."""


@dataclass(frozen=True)
class Sizes:
    pairs: int
    in_flight: int
    warmup_secs: float
    window_secs: float
    rounds: int
    rates: tuple[int, ...]
    postgres_rates: tuple[int, ...]
    latency_secs: float
    idle: tuple[int, ...]
    day_agents: int
    day_chats: int
    day_secs: float
    day_interval_secs: float
    #: The day's agents are members of workgroups of at most this many (``day0``, ``day1``...),
    #: its chats spread over them in turn.
    day_workgroup_agents: int
    postgres_day: bool
    floor_day: bool
    routing_repeat: int


QUICK = Sizes(
    pairs=50,
    in_flight=4,
    warmup_secs=0.5,
    window_secs=2.5,
    rounds=3,
    rates=(1_000, 10_000),
    postgres_rates=(1_000,),
    latency_secs=3,
    idle=(300,),
    day_agents=10,
    day_chats=100,
    day_secs=10,
    day_interval_secs=10,
    day_workgroup_agents=100,
    postgres_day=False,
    floor_day=False,
    routing_repeat=30,
)
FULL = Sizes(
    pairs=100,
    in_flight=4,
    warmup_secs=1,
    window_secs=5,
    rounds=5,
    rates=(1_000, 10_000),
    postgres_rates=(1_000, 10_000),
    latency_secs=10,
    idle=(10_000, 50_000),
    day_agents=1_000,
    day_chats=10_000,
    day_secs=60,
    day_interval_secs=10,
    day_workgroup_agents=100,
    postgres_day=True,
    floor_day=True,
    routing_repeat=100,
)


# --- processes --------------------------------------------------------------------------------


class Proc:
    """A server process of ours, pinned to a core, its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], logdir: Path, core: int | None
    ) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        cmd = (["taskset", "-c", str(core)] if core is not None else []) + argv
        # taskset execs the command: the pid is the server's own.
        self.popen = subprocess.Popen(
            cmd,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_secs(self) -> float:
        """utime + stime of the whole process (every thread, dead ones included)."""
        data = Path(f"/proc/{self.pid}/stat").read_text()
        fields = data[data.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise BenchError(f"no VmRSS for {self.name}")

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            self._log.flush()
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def terminate(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(5)
        self._log.close()


class Procs:
    """Every process this run started; all are stopped at the end, whatever happens."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.all: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], core: int | None) -> Proc:
        proc = Proc(name, argv, env, self.logdir, core)
        self.all.append(proc)
        return proc

    def stop_all(self, timeout: float = 12) -> None:
        for proc in self.all:
            proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.all:
            began = time.monotonic()
            proc.wait_stopped(max(0.5, deadline - time.monotonic()))
            if time.monotonic() - began > 3:
                print(f"{proc.name} took {time.monotonic() - began:.1f} s to stop", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(proc: Proc, port: int, path: str | None, within: float = 90) -> None:
    """Until the port answers (and ``path`` answers 200); a clear error if the process died."""
    deadline = time.monotonic() + within
    while True:
        if not proc.alive:
            raise BenchError(
                f"{proc.name} exited with status {proc.popen.returncode} before it was ready; "
                f"the end of {proc.log_path}:\n{proc.tail()}"
            )
        with contextlib.suppress(OSError, TimeoutError):
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            if path is None:
                writer.close()
                return
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
            )
            status = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            if b" 200 " in status:
                return
        if time.monotonic() > deadline:
            raise BenchError(
                f"{proc.name} was not ready on port {port} within {within:.0f} s; "
                f"the end of {proc.log_path}:\n{proc.tail()}"
            )
        await asyncio.sleep(0.2)


# --- /proc readings ---------------------------------------------------------------------------


def proc_stat() -> dict[str, list[int]]:
    """The cpu lines of /proc/stat: user nice system idle iowait irq softirq steal, in ticks."""
    out: dict[str, list[int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu"):
            name, *values = line.split()
            out[name] = [int(v) for v in values[:8]]
    return out


def steal_between(a: dict[str, list[int]], b: dict[str, list[int]], cpu: str = "cpu") -> float:
    if cpu not in a or cpu not in b:
        return 0.0
    delta = [y - x for x, y in zip(a[cpu], b[cpu], strict=False)]
    total = sum(delta)
    return delta[7] / total if total > 0 and len(delta) > 7 else 0.0


def own_cpu_secs() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: Iterable[float | None]) -> dict[str, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"min": None, "median": None, "max": None}
    return {"min": min(present), "median": statistics.median(present), "max": max(present)}


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1e3, 3)


# --- the load generator's connections ---------------------------------------------------------


class Pending:
    __slots__ = ("acked", "delivered", "fut", "need_ack", "sender", "sent", "stats")

    def __init__(
        self,
        sent: float,
        sender: Conn,
        need_ack: bool,
        fut: asyncio.Future[None] | None,
        stats: Stats | None,
    ) -> None:
        self.sent = sent
        self.sender = sender
        self.need_ack = need_ack
        self.fut = fut
        self.stats = stats
        self.acked: float | None = None
        self.delivered: float | None = None


@dataclass
class Stats:
    """Latencies of the messages of one run: (sent, delivery secs, ack secs or None)."""

    samples: list[tuple[float, float, float | None]] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[tuple[float, float, float | None]]:
        return [s for s in self.samples if start <= s[0] < end]


class RawWebSocket(asyncio.Protocol):
    """A minimal WebSocket client on a plain asyncio transport, so that the load generator's
    own core is not the bottleneck: text frames, ping/pong, close; no extensions. Frames are
    masked with the all-zero key (RFC 6455 requires a key, not a random-looking one from a
    client that is not a browser), so masking costs nothing."""

    def __init__(self, host: str, path: str) -> None:
        self.host = host
        self.path = path
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_text: Callable[[str], None] = lambda _text: None
        self.on_close: Callable[[], None] = lambda: None
        self.extensions: str | None = None
        self._fragments: bytearray | None = None
        self._upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(  # type: ignore[union-attr]
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\nUser-Agent: parley-side-by-side\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake ({exc})"))
        self.on_close()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            response = bytes(buf[:end]).decode("latin-1")
            del buf[: end + 4]
            status, *lines = response.split("\r\n")
            if " 101 " not in status + " ":
                if not self.opened.done():
                    self.opened.set_exception(BenchError(f"the upgrade was refused: {status}"))
                assert self.transport is not None
                self.transport.close()
                return
            for line in lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-extensions":
                    self.extensions = value.strip()
            self._upgraded = True
            self.opened.set_result(None)
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if n - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode, fin = b0 & 0x0F, b0 & 0x80
            if opcode == 1:
                if fin:
                    self.on_text(payload.decode())
                else:
                    self._fragments = bytearray(payload)
            elif opcode == 0 and self._fragments is not None:
                self._fragments += payload
                if fin:
                    text = self._fragments.decode()
                    self._fragments = None
                    self.on_text(text)
            elif opcode == 9:
                self._write(0xA, payload)
            elif opcode == 8:
                self._write(0x8, payload[:2])
                assert self.transport is not None
                self.transport.close()
        del buf[:pos]

    def _write(self, opcode: int, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        n = len(data)
        if n < 126:
            header = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65_536:
            header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
        transport.write(header + b"\0\0\0\0" + data)

    def send_text(self, text: str) -> None:
        self._write(0x1, text.encode())

    def close(self) -> None:
        self._write(0x8, (1000).to_bytes(2, "big"))
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class LoadGen:
    """The client side: connections, and every message in flight until it is complete
    (delivered to the other side and, where the server acks, acked to the sender).

    ``client`` is ``raw`` (``RawWebSocket``: cheap, offers no extensions) or ``websockets``
    (its asyncio client; with ``compression`` it offers permessage-deflate, as browsers do)."""

    def __init__(self, client: str = "raw", compression: bool = False) -> None:
        self.client = client
        self.compression = compression
        self.pending: dict[str, Pending] = {}
        self.ids = itertools.count(1)
        self.completed = 0
        self.frames = 0
        self.kinds: dict[str, int] = {}
        self.typing_received = 0
        self.errors: list[str] = []
        self.conns: list[Conn] = []
        #: Hellos refused ``busy`` (and tried again after a jittered backoff).
        self.busy = 0
        self.backoff_rng = random.Random(11)

    async def connect(
        self, url: str, name: str, local_addr: str | None = None, *, track: bool = True
    ) -> Conn:
        conn = Conn(self, name)
        if self.client == "raw":
            await conn.open_raw(url, local_addr)
        else:
            await conn.open_websockets(url, local_addr, self.compression)
        if track:
            self.conns.append(conn)
        return conn

    async def session(
        self,
        url: str,
        name: str,
        hello: dict[str, Any],
        local_addr: str | None = None,
        *,
        track: bool = True,
        before_hello: Callable[[Conn], None] | None = None,
        within: float = 300,
    ) -> Conn:
        """Connect and say hello, as a client should: a hello refused ``busy`` is tried again
        after ``retry_after`` plus a random share of a backoff that doubles (0.5 s to 10 s),
        like ``frontend/src/shared/client.ts``."""
        deadline = time.perf_counter() + within
        attempt = 0
        while True:
            conn = await self.connect(url, name, local_addr, track=False)
            if before_hello is not None:
                before_hello(conn)
            try:
                await conn.hello(**hello)
            except Busy as busy:
                conn.abort()
                self.busy += 1
                backoff = min(10.0, 0.5 * 2**attempt)
                attempt += 1
                delay = busy.retry_after + self.backoff_rng.random() * backoff
                if time.perf_counter() + delay > deadline:
                    raise BenchError(f"{name}: still refused busy after {within:.0f} s") from None
                await asyncio.sleep(delay)
                continue
            if track:
                self.conns.append(conn)
            return conn

    def note_error(self, where: str, message: dict[str, Any]) -> None:
        if len(self.errors) < 20:
            self.errors.append(f"{where}: {json.dumps(message)[:300]}")

    def delivered(self, client_id: Any, conn: Conn) -> None:
        p = self.pending.get(client_id)
        if p is None or conn is p.sender or p.delivered is not None:
            return  # not ours, the sender's own copy, or a second connection
        p.delivered = time.perf_counter()
        if not p.need_ack or p.acked is not None:
            self._done(client_id, p)

    def acked(self, client_id: Any) -> None:
        p = self.pending.get(client_id)
        if p is None or p.acked is not None:
            return
        p.acked = time.perf_counter()
        if p.delivered is not None:
            self._done(client_id, p)

    def refused(self, client_id: str, message: dict[str, Any]) -> None:
        p = self.pending.pop(client_id, None)
        self.note_error("send refused", message)
        if p is not None and p.fut is not None and not p.fut.done():
            p.fut.set_exception(BenchError(f"a send was refused: {json.dumps(message)[:300]}"))

    def _done(self, client_id: str, p: Pending) -> None:
        del self.pending[client_id]
        self.completed += 1
        assert p.delivered is not None
        if p.stats is not None:
            ack = None if p.acked is None else p.acked - p.sent
            p.stats.samples.append((p.sent, p.delivered - p.sent, ack))
        if p.fut is not None and not p.fut.done():
            p.fut.set_result(None)

    def frame(
        self,
        sender: Conn,
        conversation_id: str,
        need_ack: bool,
        sent: float,
        stats: Stats | None,
        fut: asyncio.Future[None] | None,
    ) -> str:
        client_id = f"m{next(self.ids)}"
        self.pending[client_id] = Pending(sent, sender, need_ack, fut, stats)
        return (
            f'{{"type":"send","ref":"{client_id}","conversation_id":"{conversation_id}",'
            f'"client_id":"{client_id}","text":"{TEXT}"}}'
        )

    async def send_message(
        self, sender: Conn, conversation_id: str, need_ack: bool, stats: Stats | None = None
    ) -> None:
        """Send one message and wait until it is complete (the scenarios watch for stalls)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await sender.send_text(
            self.frame(sender, conversation_id, need_ack, time.perf_counter(), stats, fut)
        )
        await fut

    def forget(self, stats: Stats) -> None:
        for client_id in [k for k, p in self.pending.items() if p.stats is stats]:
            p = self.pending.pop(client_id)
            if p.fut is not None and not p.fut.done():
                p.fut.cancel()

    def abort_all(self) -> None:
        for conn in self.conns:
            conn.abort()


class Conn:
    """One WebSocket of the load generator; every frame it gets goes through ``on_text``."""

    def __init__(self, lg: LoadGen, name: str) -> None:
        self.lg = lg
        self.name = name
        self.frames = 0
        self.entries = 0
        self.entries_at_synced = -1
        self.last_seq: dict[str, int] = {}
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.synced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_offer: Callable[[Conn, dict[str, Any]], None] | None = None
        self.on_conversation: Callable[[Conn, str], None] | None = None
        self.closed = False
        #: Set by an ``error`` ``busy``: the hello was refused, the socket closes next.
        self.busy_after: float | None = None
        self.extensions: str | None = None
        self._raw: RawWebSocket | None = None
        self._ws: Any = None
        self._task: asyncio.Task[None] | None = None

    async def open_raw(self, url: str, local_addr: str | None) -> None:
        rest = url.removeprefix("ws://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.rpartition(":")
        proto = RawWebSocket(hostport, "/" + path)
        proto.on_text = self.on_text
        proto.on_close = self._closed
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(
            loop.create_connection(
                lambda: proto,
                host,
                int(port),
                local_addr=None if local_addr is None else (local_addr, 0),
            ),
            30,
        )
        await asyncio.wait_for(proto.opened, 30)
        self._raw = proto
        self.extensions = proto.extensions

    async def open_websockets(self, url: str, local_addr: str | None, compression: bool) -> None:
        from websockets.asyncio.client import connect

        extra: dict[str, Any] = {}
        if local_addr is not None:
            extra["local_addr"] = (local_addr, 0)
        self._ws = await connect(
            url,
            open_timeout=30,
            close_timeout=3,
            ping_interval=None,
            max_size=None,
            max_queue=None,
            proxy=None,
            compression="deflate" if compression else None,
            **extra,
        )
        self.extensions = self._ws.response.headers.get("Sec-WebSocket-Extensions")
        self._task = asyncio.create_task(self._read_websockets())

    async def _read_websockets(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self._ws:
                self.on_text(raw if isinstance(raw, str) else raw.decode())
        except ConnectionClosed:
            pass
        finally:
            self._closed()

    def on_text(self, raw: str) -> None:
        lg = self.lg
        self.frames += 1
        lg.frames += 1
        m = json.loads(raw)
        kind = m.get("type")
        lg.kinds[kind] = lg.kinds.get(kind, 0) + 1
        if kind == "entry":
            self.entries += 1
            entry = m["entry"]
            cid = m["conversation_id"]
            if entry["seq"] > self.last_seq.get(cid, 0):
                self.last_seq[cid] = entry["seq"]
            if entry["kind"] == "message":
                lg.delivered(entry.get("client_id"), self)
        elif kind == "ack":
            # The sender's own entry comes in its ack (one frame), not as an ``entry``.
            entry = m["entry"]
            cid = m["conversation_id"]
            if entry["seq"] > self.last_seq.get(cid, 0):
                self.last_seq[cid] = entry["seq"]
            lg.acked(entry["client_id"])
        elif kind == "send":  # a floor_bare relay forwards the frame as it came
            lg.delivered(m.get("client_id"), self)
        elif kind == "typing":
            lg.typing_received += 1
        elif kind == "synced":
            if not self.synced.done():
                self.entries_at_synced = self.entries
                self.synced.set_result(None)
        elif kind == "offer":
            if self.on_offer is not None:
                self.on_offer(self, m["offer"])
        elif kind == "conversation":
            if self.on_conversation is not None:
                self.on_conversation(self, m["conversation"]["id"])
        elif kind == "error" and m.get("code") == "busy":
            self.busy_after = float(m.get("retry_after") or 1)
        elif kind in ("ok", "pong", "error"):
            ref = m.get("ref")
            waiter = self.waiters.pop(ref, None) if ref else None
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(m)
            elif kind == "error":
                if ref in lg.pending:
                    lg.refused(ref, m)
                else:
                    lg.note_error(self.name, m)

    def _closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        gone = ConnectionError(f"{self.name}: the connection closed")
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_exception(gone)
        if not self.synced.done():
            self.synced.set_exception(gone)
            self.synced.exception()  # retrieved: nobody may be waiting for it

    async def send_text(self, text: str) -> None:
        if self._raw is not None:
            self._raw.send_text(text)
        else:
            await self._ws.send(text)

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def request(self, message: dict[str, Any], within: float = 30) -> dict[str, Any]:
        ref = f"q{next(self.lg.ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[ref] = fut
        await self.send({**message, "ref": ref})
        try:
            return await asyncio.wait_for(fut, within)
        except TimeoutError:
            raise BenchError(f"{self.name}: no answer to {message['type']} in {within} s") from None

    async def hello(self, within: float = 60, **fields: Any) -> None:
        await self.send({"type": "hello", **fields})
        try:
            await asyncio.wait_for(asyncio.shield(self.synced), within)
        except TimeoutError:
            raise BenchError(f"{self.name}: no synced within {within} s of hello") from None
        except ConnectionError:
            if self.busy_after is not None:
                raise Busy(self.busy_after) from None
            raise

    async def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
        elif self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        self.abort()

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()
        elif self._ws is not None:
            transport = getattr(self._ws, "transport", None)
            if transport is not None:
                transport.abort()
        if self._task is not None:
            self._task.cancel()


async def keep_going(
    lg: LoadGen, secs: float, tasks: Sequence[asyncio.Future[Any]], stall_secs: float = 30
) -> None:
    """Sleep ``secs`` while the load runs; fail at once if a task failed, or if messages are in
    flight and none completed for ``stall_secs``."""
    end = time.perf_counter() + secs
    last, last_change = lg.completed, time.perf_counter()
    while (now := time.perf_counter()) < end:
        await asyncio.sleep(min(0.25, end - now))
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if lg.completed != last:
            last, last_change = lg.completed, time.perf_counter()
        elif lg.pending and time.perf_counter() - last_change > stall_secs:
            raise BenchError(
                f"no message completed for {stall_secs:.0f} s ({len(lg.pending)} "
                "in flight): the server stalled"
            )


async def gather_limited(
    items: Iterable[T], limit: int, fn: Callable[[T], Awaitable[Any]], within: float, what: str
) -> list[Any]:
    """``fn`` over ``items``, at most ``limit`` at a time, all within ``within`` seconds."""
    sem = asyncio.Semaphore(limit)
    done = 0
    begun = time.perf_counter()

    async def one(item: T) -> Any:
        nonlocal done
        async with sem:
            try:
                result = await fn(item)
            except TimeoutError:
                raise BenchError(f"{what}: one of them timed out") from None
        done += 1
        if len(tasks) >= 1000 and done % (len(tasks) // 10) == 0:
            log(f"{what}: {done} of {len(tasks)} in {time.perf_counter() - begun:.0f} s")
        return result

    tasks: list[asyncio.Future[Any]] = []
    tasks += [asyncio.ensure_future(one(i)) for i in items]
    try:
        return await asyncio.wait_for(asyncio.gather(*tasks), within)
    except TimeoutError:
        raise BenchError(f"{what}: not done within {within:.0f} s") from None
    finally:
        for task in tasks:
            task.cancel()


# --- targets ----------------------------------------------------------------------------------


@dataclass
class Pair:
    visitor: Conn
    agent: Conn
    conversation_id: str


@dataclass
class Chat:
    conversation_id: str
    visitor_token: str
    agent: Conn | None = None
    visitor: Conn | None = None


@dataclass
class Node:
    proc: Proc
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@dataclass
class Target:
    """Something the load runs against: the processes whose CPU counts, and its pairs."""

    name: str
    procs: list[Proc]
    acks: bool
    pairs: list[Pair] = field(default_factory=list)
    label: str = ""


@dataclass
class Snap:
    t: float
    server_cpu: float
    loadgen_cpu: float
    stat: dict[str, list[int]]
    completed: int
    frames: int
    typing: int
    kinds: dict[str, int]


def snap(lg: LoadGen, procs: Sequence[Proc]) -> Snap:
    return Snap(
        time.perf_counter(),
        sum(p.cpu_secs() for p in procs),
        own_cpu_secs(),
        proc_stat(),
        lg.completed,
        lg.frames,
        lg.typing_received,
        dict(lg.kinds),
    )


def window(a: Snap, b: Snap) -> dict[str, Any]:
    wall = b.t - a.t
    msgs = b.completed - a.completed
    cpu = b.server_cpu - a.server_cpu
    return {
        "msgs": msgs,
        "wall_secs": round(wall, 3),
        "msgs_per_s": round(msgs / wall, 1),
        "server_cpu_secs": round(cpu, 3),
        "msgs_per_server_cpu_s": round(msgs / cpu, 1) if cpu > 0 else None,
        "server_cpu_share": round(cpu / wall, 3),
        "loadgen_cpu_share": round((b.loadgen_cpu - a.loadgen_cpu) / wall, 3),
        "steal": round(steal_between(a.stat, b.stat), 4),
        "steal_server_core": round(steal_between(a.stat, b.stat, f"cpu{SERVER_CORE}"), 4),
        "frames_per_msg": round((b.frames - a.frames) / msgs, 2) if msgs else None,
        "frames_by_type": {
            k: v - a.kinds.get(k, 0) for k, v in b.kinds.items() if v != a.kinds.get(k, 0)
        },
    }


# --- Parley: accounts, nodes, chats -----------------------------------------------------------


def parley_env(
    port: int,
    data_dir: Path,
    database_url: str | None = None,
    redis_channel: str | None = None,
    node_id: str | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    many = "1000000 per second"
    env.update(
        {
            "PARLEY_HOST": "127.0.0.1",
            "PARLEY_PORT": str(port),
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_LOG_LEVEL": "warning",
            # One client address opens every chat, logs every agent in and sends as fast as
            # the acks come back: the limits on abuse (docs/security.md) would measure
            # themselves instead of the engine.
            "PARLEY_LOGIN_IP_LIMIT": many,
            "PARLEY_LOGIN_FAILURE_LIMIT": many,
            "PARLEY_CHAT_IP_LIMIT": many,
            "PARLEY_CHAT_WORKGROUP_LIMIT": many,
            "PARLEY_SEND_LIMIT": many,
            "PARLEY_WS_MESSAGE_LIMIT": many,
            "PARLEY_WS_TYPING_LIMIT": many,
            "PARLEY_WS_CONNECTIONS_PER_IP": "100000000",
            "PARLEY_PRESENCE_GRACE_SECS": "3600",
        }
    )
    if database_url is not None:
        env["PARLEY_DATABASE_URL"] = database_url
        env["PARLEY_REDIS_URL"] = REDIS_URL
        env["PARLEY_REDIS_CHANNEL"] = redis_channel or f"parley-bench:{secrets.token_hex(4)}"
    if node_id is not None:
        env["PARLEY_NODE_ID"] = node_id
    return env


def seed_accounts_main(spec_path: str) -> None:
    """``--seed-accounts SPEC``: create the admin and the agents offline, in this process, with
    cheap argon2 parameters (the server verifies with the parameters stored in each hash)."""
    from argon2 import PasswordHasher

    import parley.services.auth as auth

    if hasattr(auth, "_hasher"):
        auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    else:
        print("warning: parley.services.auth._hasher is gone: seeding at full argon2 cost")
    from parley.bootstrap import build
    from parley.domain.access import StaffRole
    from parley.settings import Settings

    spec = json.loads(Path(spec_path).read_text())

    async def go() -> None:
        parley = build(Settings())
        try:
            await parley.db.migrate()
            await parley.admin.create_user(None, ADMIN, PASSWORD, StaffRole.ADMIN, "Bench admin")
            sem = asyncio.Semaphore(8)

            async def agent(name: str) -> None:
                async with sem:
                    await parley.admin.create_user(None, name, PASSWORD, StaffRole.AGENT, name)

            await asyncio.gather(*(agent(n) for n in spec["agents"]))
        finally:
            await parley.db.dispose()

    asyncio.run(go())


async def seed_accounts(env: dict[str, str], agents: list[str], tmp: Path, name: str) -> None:
    spec = tmp / f"seed-{name}.json"
    spec.write_text(json.dumps({"agents": agents}))
    log = tmp / f"seed-{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SELF),
            "--seed-accounts",
            str(spec),
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            code = await asyncio.wait_for(proc.wait(), 60 + 0.05 * len(agents))
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise BenchError(f"seeding {name} took too long; see {log}") from None
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise BenchError(f"seeding {name} failed ({code}); the end of {log}:\n{tail}")


class Rest:
    """Parley's REST API as the benchmark's admin and agents use it."""

    def __init__(self, node: Node) -> None:
        import httpx

        self.http = httpx.AsyncClient(
            base_url=node.base_url + "/api/v1",
            timeout=30,
            trust_env=False,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )
        self.admin_token = ""

    async def call(
        self, method: str, path: str, token: str | None = None, expect: int = 200, **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        r = await self.http.request(method, path, headers=headers, **kw)
        if r.status_code != expect:
            raise BenchError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    async def login(self, username: str) -> str:
        r = await self.http.post("/auth/login", json={"username": username, "password": PASSWORD})
        if r.status_code != 200:
            raise BenchError(f"login {username}: {r.status_code} {r.text[:300]}")
        return str(r.cookies["parley_session"])

    async def workgroup(self, slug: str, max_chats: int, members: list[str]) -> None:
        await self.call(
            "POST",
            "/admin/workgroups",
            expect=201,
            json={
                "slug": slug,
                "name": slug.capitalize(),
                "max_chats": max_chats,
                "offer_timeout_secs": 600,
                "wait_timeout_secs": 86_400,
                "decline_cooldown_secs": 0,
                "preferred_agent_secs": 0,
                "max_missed_offers": 0,
            },
        )
        await self.call("PUT", f"/admin/workgroups/{slug}/members", json={"usernames": members})
        await self.call(
            "PUT",
            f"/workgroups/{slug}/hours",
            json={"hours": None, "email": "", "queue_without_agents": True},
        )

    async def close(self) -> None:
        await self.http.aclose()


async def agents_online(lg: LoadGen, rest: Rest, node: Node, usernames: list[str]) -> list[Conn]:
    """Log each agent in, make them available (REST, before any socket: no presence storm),
    and connect their consoles."""

    async def one(username: str) -> Conn:
        token = await rest.login(username)
        await rest.call(
            "PUT", "/me/presence", token=token, json={"presence": "available", "status_text": ""}
        )

        def offers(conn: Conn) -> None:
            conn.on_offer = accept_offer

        return await lg.session(
            node.ws_url, f"{node.proc.name}:{username}", {"token": token}, before_hello=offers
        )

    # Each console is sent every member's presence, and each agent's coming online goes to
    # every console: the set-up is quadratic in agents (1,000: about 1.5 million frames).
    n = len(usernames)
    return await gather_limited(usernames, 16, one, 120 + 0.2 * n + 0.001 * n * n, "agents online")


def accept_offer(conn: Conn, offer: dict[str, Any]) -> None:
    async def accept() -> None:
        with contextlib.suppress(BenchError, ConnectionError):
            await conn.request({"type": "accept_offer", "offer_id": offer["offer_id"]})

    task = asyncio.ensure_future(accept())
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Future[None]] = set()


async def open_chats(
    lg: LoadGen,
    rest: Rest,
    slugs: str | Sequence[str],
    n: int,
    agents: list[Conn],
    visitor_node: Node,
) -> tuple[list[Chat], dict[str, Any]]:
    """Open ``n`` chats in ``slugs`` (in turn), let the agents accept them, connect every
    visitor."""
    slugs = [slugs] if isinstance(slugs, str) else list(slugs)
    slug = slugs[0] if len(slugs) == 1 else f"{slugs[0]}..{slugs[-1]}"
    accepted: dict[str, Conn] = {}
    all_in = asyncio.Event()
    wanted: set[str] = set()

    def on_conversation(conn: Conn, cid: str) -> None:
        accepted.setdefault(cid, conn)
        if wanted and wanted <= accepted.keys():
            all_in.set()

    for agent in agents:
        agent.on_conversation = on_conversation
    started = time.perf_counter()
    cpu0 = sum(p.cpu_secs() for p in [visitor_node.proc])

    async def open_one(i: int) -> Chat:
        body = await rest.call(
            "POST",
            f"/workgroups/{slugs[i % len(slugs)]}/chats",
            expect=201,
            json={"name": f"Visitor {i}"},
        )
        return Chat(body["conversation"]["id"], body["visitor_token"])

    chats = await gather_limited(range(n), 16, open_one, 60 + 0.3 * n, f"opening {slug} chats")
    opened = time.perf_counter()
    wanted.update(c.conversation_id for c in chats)
    if wanted <= accepted.keys():
        all_in.set()
    try:
        await asyncio.wait_for(all_in.wait(), 60 + 0.1 * n)
    except TimeoutError:
        raise BenchError(
            f"{slug}: only {len(wanted & accepted.keys())} of {n} chats were accepted in time"
        ) from None
    for chat in chats:
        chat.agent = accepted[chat.conversation_id]

    async def visit(chat: Chat) -> None:
        chat.visitor = await lg.session(
            visitor_node.ws_url,
            f"visitor:{chat.conversation_id[:8]}",
            {"visitor_token": chat.visitor_token},
        )

    await gather_limited(chats, 64, visit, 60 + 0.2 * n, f"connecting {slug} visitors")
    done = time.perf_counter()
    for agent in agents:
        agent.on_conversation = None
    setup = {
        "chats": n,
        "open_and_accept_per_s": round(n / (done - started), 1),
        "open_per_s": round(n / (opened - started), 1),
        "node_cpu_ms_per_chat": round(
            (sum(p.cpu_secs() for p in [visitor_node.proc]) - cpu0) * 1e3 / n, 2
        ),
    }
    return chats, setup


@dataclass
class ParleyTarget:
    target: Target
    nodes: list[Node]
    rest: Rest
    env: dict[str, str]
    day_agents: list[Conn] = field(default_factory=list)
    day_workgroups: list[str] = field(default_factory=list)
    day_chats: list[Chat] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)


async def start_parley(
    procs: Procs,
    name: str,
    tmp: Path,
    sizes: Sizes,
    *,
    backend: str,
    nodes: int = 1,
    day: bool = False,
    database_url: str | None = None,
) -> tuple[list[Node], dict[str, str], list[str], list[str]]:
    """Seed the accounts offline, then start the node(s): pairs agents and day agents."""
    pair_agents = [f"pa{i}" for i in range(sizes.pairs)]
    day_agents = [f"da{i}" for i in range(sizes.day_agents)] if day else []
    data_dir = tmp / f"{name}-data"
    data_dir.mkdir()
    channel = f"parley-bench:{secrets.token_hex(6)}"
    ports = [free_port() for _ in range(nodes)]
    envs = [
        parley_env(
            port,
            data_dir,
            database_url,
            channel if backend == "postgres" else None,
            node_id=f"{name}-{i}",
        )
        for i, port in enumerate(ports)
    ]
    await seed_accounts(envs[0], pair_agents + day_agents, tmp, name)
    started: list[Node] = []
    for i, (port, env) in enumerate(zip(ports, envs, strict=True)):
        proc = procs.start(
            f"{name}-{i}" if nodes > 1 else name,
            [sys.executable, "-m", "parley.cli", "serve"],
            env,
            SERVER_CORE,
        )
        started.append(Node(proc, port))
    return started, envs[0], pair_agents, day_agents


async def setup_parley(
    lg: LoadGen,
    name: str,
    nodes: list[Node],
    env: dict[str, str],
    pair_agents: list[str],
    day_agents: list[str],
    pairs: int,
    day_workgroup_agents: int = 100,
) -> ParleyTarget:
    """Workgroups through the admin API; pairs: one chat per agent, agents on the last node,
    visitors on the first (so on two nodes every message crosses)."""
    for node in nodes:
        await wait_ready(node.proc, node.port, "/readyz")
    rest = Rest(nodes[0])
    rest.admin_token = await rest.login(ADMIN)
    await rest.workgroup("pairs", 1, pair_agents)
    agents = await agents_online(lg, rest, nodes[-1], pair_agents)
    chats, setup = await open_chats(lg, rest, "pairs", pairs, agents, nodes[0])
    target = Target(
        name,
        [n.proc for n in nodes],
        acks=True,
        pairs=[Pair(c.visitor, c.agent, c.conversation_id) for c in chats if c.visitor and c.agent],
        label=f"Parley, {len(nodes)} node{'s' if len(nodes) > 1 else ''}",
    )
    pt = ParleyTarget(target, nodes, rest, env, setup={"pairs": setup})
    size = max(1, day_workgroup_agents)
    for k in range(0, len(day_agents), size):
        slug = f"day{k // size}"
        await rest.workgroup(slug, 100, day_agents[k : k + size])
        pt.day_workgroups.append(slug)
    return pt


async def setup_day(lg: LoadGen, pt: ParleyTarget, sizes: Sizes, day_agents: list[str]) -> None:
    node = pt.nodes[0]
    busy0 = lg.busy
    started = time.perf_counter()
    pt.day_agents = await agents_online(lg, pt.rest, node, day_agents)
    online = time.perf_counter() - started
    chats, setup = await open_chats(
        lg, pt.rest, pt.day_workgroups, sizes.day_chats, pt.day_agents, node
    )
    pt.day_chats = chats
    pt.setup["day"] = {
        **setup,
        "workgroups": len(pt.day_workgroups),
        "agents_online_secs": round(online, 1),
        "busy_refusals": lg.busy - busy0,
    }


async def probe_frames(lg: LoadGen, pair: Pair) -> int:
    """Frames the server sends for one message (to both sides), counted around one send."""
    before = pair.visitor.frames + pair.agent.frames
    await lg.send_message(pair.visitor, pair.conversation_id, need_ack=True)
    await pair.visitor.request({"type": "ping"})
    await pair.agent.request({"type": "ping"})
    return pair.visitor.frames + pair.agent.frames - before - 2


# --- floors -----------------------------------------------------------------------------------


async def start_relay(procs: Procs, name: str, stack: str, frames: int) -> Node:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    proc = procs.start(
        name,
        [
            sys.executable,
            str(BENCH / "relay.py"),
            "--stack",
            stack,
            "--frames",
            str(frames),
            "--port",
            str(port),
        ],
        env,
        SERVER_CORE,
    )
    return Node(proc, port)


async def relay_conns(
    lg: LoadGen, node: Node, follows: list[tuple[str, list[str]]], what: str
) -> list[Conn]:
    async def one(item: tuple[str, list[str]]) -> Conn:
        key, follow = item
        conn = await lg.connect(node.ws_url, f"{node.proc.name}:{key}")
        await conn.hello(key=key, follow=follow)
        return conn

    return await gather_limited(follows, 64, one, 60 + 0.02 * len(follows), what)


async def relay_pairs(lg: LoadGen, node: Node, n: int) -> list[Pair]:
    cids = [f"c{j}" for j in range(n)]
    visitors = await relay_conns(lg, node, [("visitor", [c]) for c in cids], "relay visitors")
    agents = await relay_conns(
        lg, node, [(f"user:{j}", [c]) for j, c in enumerate(cids)], "relay agents"
    )
    return [Pair(v, a, c) for v, a, c in zip(visitors, agents, cids, strict=True)]


async def relay_day(lg: LoadGen, node: Node, chats: int, agents: int) -> list[Pair]:
    """The day's topology on a relay: each agent follows its share of the chats."""
    cids = [f"d{j}" for j in range(chats)]
    follows = [(f"user:{a}", cids[a::agents]) for a in range(agents)]
    agent_conns = await relay_conns(lg, node, follows, "relay day agents")
    visitors = await relay_conns(lg, node, [("visitor", [c]) for c in cids], "relay day visitors")
    return [
        Pair(v, agent_conns[j % agents], c)
        for j, (v, c) in enumerate(zip(visitors, cids, strict=True))
    ]


# --- scenarios --------------------------------------------------------------------------------


async def wind_down(lg: LoadGen, stats: Stats | None, within: float, what: str) -> None:
    """Wait until what is in flight has arrived, so the next measurement starts quiet."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if not any(stats is None or p.stats is stats for p in lg.pending.values()):
            return
        await asyncio.sleep(0.05)
    stuck = [(k, p) for k, p in lg.pending.items() if stats is None or p.stats is stats]
    # Which half is missing tells a slow server (neither) from a lost ack or delivery.
    sample = "; ".join(
        f"{k} from {p.sender.name}: acked={p.acked is not None} "
        f"delivered={p.delivered is not None} closed={p.sender.closed}"
        for k, p in stuck[:8]
    )
    raise BenchError(
        f"{what}: {len(stuck)} messages still in flight after {within:.0f} s ({sample})"
    )


async def closed_loop(lg: LoadGen, target: Target, sizes: Sizes) -> dict[str, Any]:
    """Every pair keeps ``in_flight`` messages going, alternating direction; measured over
    ``window_secs`` after ``warmup_secs``."""
    stop = False

    async def slot(pair: Pair, k: int) -> None:
        n = k
        while not stop:
            sender = pair.visitor if n % 2 == 0 else pair.agent
            n += 1
            await lg.send_message(sender, pair.conversation_id, target.acks)

    first = snap(lg, target.procs)
    tasks = [
        asyncio.ensure_future(slot(p, k)) for p in target.pairs for k in range(sizes.in_flight)
    ]
    try:
        await keep_going(lg, sizes.warmup_secs, tasks)
        a = snap(lg, target.procs)
        await keep_going(lg, sizes.window_secs, tasks)
        b = snap(lg, target.procs)
        stop = True
        await wind_down(lg, None, 60, f"{target.name} closed loop")
    finally:
        for task in tasks:
            task.cancel()
    last = snap(lg, target.procs)
    measured = window(a, b)
    # Frames per message over the whole run, wind-down included: every message sent has
    # completed by then, so none is counted without its frames (or the other way round).
    whole = window(first, last)
    measured["frames_per_msg"] = whole["frames_per_msg"]
    measured["frames_by_type"] = whole["frames_by_type"]
    return measured


async def open_loop(lg: LoadGen, target: Target, rate: int, secs: float) -> dict[str, Any]:
    """Messages at ``rate`` per second, on schedule whatever the answers (no coordinated
    omission): latency runs from each message's scheduled time to its delivery. When more
    than ``max(500, rate / 2)`` are outstanding and fewer than half the rate completed over
    the last two seconds, the server cannot keep up (a mere stall of a shared core recovers
    with a burst): sending stops, the run is marked saturated, and the messages never sent
    count as the slowest one delivered (so the percentiles are lower bounds)."""
    stats = Stats()
    n_total = int(rate * secs)
    pairs = target.pairs
    cap = max(500, rate // 2)
    progress: list[tuple[float, int]] = []  # (time, completed), every 0.1 s
    interval = 1.0 / rate
    saturated = False
    sent = 0
    max_lag = 0.0
    a = snap(lg, target.procs)
    start = time.perf_counter() + 0.02
    completed0 = lg.completed
    while sent < n_total:
        now = time.perf_counter()
        due = start + sent * interval
        if due > now:
            await asyncio.sleep(due - now)
            continue
        done = lg.completed - completed0
        if not progress or now - progress[-1][0] >= 0.1:
            progress.append((now, done))
        if sent - done > cap:
            since = next((p for p in progress if p[0] >= now - 2.0), progress[0])
            span = max(now - since[0], 0.1)
            if (done - since[1]) / span < 0.5 * rate:
                saturated = True
                break
        while sent < n_total and start + sent * interval <= now:
            pair = pairs[sent % len(pairs)]
            sender = pair.visitor if (sent // len(pairs)) % 2 == 0 else pair.agent
            scheduled = start + sent * interval
            await sender.send_text(
                lg.frame(sender, pair.conversation_id, target.acks, scheduled, stats, None)
            )
            max_lag = max(max_lag, now - scheduled)
            sent += 1
    sending_ended = time.perf_counter()
    # Everything sent must arrive before the next run: a backlog would be measured there.
    await wind_down(lg, stats, 120, f"{target.name} at {rate} msg/s")
    b = snap(lg, target.procs)
    delivery = [s[1] for s in stats.samples]
    acks = [s[2] for s in stats.samples if s[2] is not None]
    if saturated:
        delivery += [max(delivery, default=0.0)] * (n_total - sent)
    return {
        "rate": rate,
        "planned": n_total,
        "sent": sent,
        "saturated": saturated,
        "send_secs": round(sending_ended - start, 3),
        "max_send_lag_ms": round(max_lag * 1e3, 2),
        "p50_ms": ms(pct(delivery, 0.5)),
        "p99_ms": ms(pct(delivery, 0.99)),
        "p999_ms": ms(pct(delivery, 0.999)),
        "max_ms": ms(max(delivery) if delivery else None),
        "ack_p50_ms": ms(pct(acks, 0.5)),
        "ack_p99_ms": ms(pct(acks, 0.99)),
        "server_cpu_share": round((b.server_cpu - a.server_cpu) / (b.t - a.t), 3),
        "loadgen_cpu_share": round((b.loadgen_cpu - a.loadgen_cpu) / (b.t - a.t), 3),
        "steal": round(steal_between(a.stat, b.stat), 4),
    }


async def idle_connections(
    lg: LoadGen,
    proc: Proc,
    url: str,
    sizes: Sequence[int],
    hello: Callable[[int], dict[str, Any]],
) -> dict[str, Any]:
    """Open idle authenticated connections (hello, then wait for synced) in steps up to each
    size; the server's RSS growth per connection at each."""
    await asyncio.sleep(1.0)
    rss0 = proc.rss_kb()
    opened: list[Conn] = []
    steps: list[dict[str, Any]] = []

    async def one(i: int) -> Conn:
        conn = await lg.session(
            url, f"idle{i}", hello(i), SOURCE_ADDRESSES[i % len(SOURCE_ADDRESSES)], track=False
        )
        opened.append(conn)
        return conn

    try:
        for size in sizes:
            begun = time.perf_counter()
            cpu0 = proc.cpu_secs()
            before = len(opened)
            await gather_limited(
                range(before, size), 200, one, 120 + 0.05 * size, f"{size} idle sockets"
            )
            took = time.perf_counter() - begun
            cpu = proc.cpu_secs() - cpu0
            await asyncio.sleep(3.0)
            rss = proc.rss_kb()
            step: dict[str, Any] = {
                "connections": size,
                "rss_kb_before": rss0,
                "rss_kb": rss,
                "kb_per_connection": round((rss - rss0) / size, 2),
                "hellos_per_s": round((size - before) / took, 1),
                "server_cpu_ms_per_hello": round(cpu * 1e3 / max(1, size - before), 3),
            }
            if steps:
                step["kb_per_connection_marginal"] = round(
                    (rss - steps[-1]["rss_kb"]) / (size - steps[-1]["connections"]), 2
                )
            steps.append(step)
    finally:
        for conn in opened:
            conn.abort()
    return {
        "steps": steps,
        "kb_per_connection": steps[-1]["kb_per_connection"] if steps else None,
        "extensions": opened[0].extensions if opened else None,
    }


def visitor_hello(tokens: list[str]) -> Callable[[int], dict[str, Any]]:
    """The hello of idle visitor ``i``: the tokens in turn (several sockets per chat)."""
    return lambda i: {"visitor_token": tokens[i % len(tokens)]}


async def reconnect_storm(
    lg: LoadGen, proc: Proc, url: str, chats: list[Chat], back: int = 2
) -> dict[str, Any]:
    """Every visitor drops and comes back at once with its cursor ``back`` entries behind."""
    cursors: dict[str, tuple[int, int]] = {}
    for chat in chats:
        assert chat.visitor is not None
        last = chat.visitor.last_seq.get(chat.conversation_id, 0)
        cursors[chat.conversation_id] = (max(0, last - back), last)
    await gather_limited(
        [c.visitor for c in chats if c.visitor], 200, Conn.close, 60, "closing visitors"
    )
    await asyncio.sleep(1.0)
    a = snap(lg, [proc])
    busy0 = lg.busy
    mismatched = 0

    async def resume(chat: Chat) -> None:
        nonlocal mismatched
        cursor, last = cursors[chat.conversation_id]
        conn = await lg.session(
            url,
            f"resumed:{chat.conversation_id[:8]}",
            {"visitor_token": chat.visitor_token, "cursors": {chat.conversation_id: cursor}},
        )
        if conn.entries_at_synced != last - cursor:
            mismatched += 1
        chat.visitor = conn

    await gather_limited(chats, 500, resume, 120 + 0.05 * len(chats), "the reconnect storm")
    b = snap(lg, [proc])
    wall = b.t - a.t
    return {
        "visitors": len(chats),
        "entries_behind": back,
        "secs": round(wall, 3),
        "resumes_per_s": round(len(chats) / wall, 1),
        "server_cpu_ms_per_resume": round((b.server_cpu - a.server_cpu) * 1e3 / len(chats), 3),
        "resumes_per_server_cpu_s": round(len(chats) / (b.server_cpu - a.server_cpu), 1)
        if b.server_cpu > a.server_cpu
        else None,
        "server_cpu_share": round((b.server_cpu - a.server_cpu) / wall, 3),
        "loadgen_cpu_share": round((b.loadgen_cpu - a.loadgen_cpu) / wall, 3),
        "wrong_catch_up": mismatched,
        "busy_refusals": lg.busy - busy0,
    }


async def relay_connect_rate(lg: LoadGen, node: Node, n: int) -> dict[str, Any]:
    """The floor of a reconnect storm: connect and say hello, nothing to catch up."""
    a = snap(lg, [node.proc])
    conns = await relay_conns(
        lg, node, [("visitor", [f"s{j}"]) for j in range(n)], "relay connect storm"
    )
    b = snap(lg, [node.proc])
    for conn in conns:
        conn.abort()
    wall = b.t - a.t
    return {
        "visitors": n,
        "resumes_per_s": round(n / wall, 1),
        "server_cpu_ms_per_resume": round((b.server_cpu - a.server_cpu) * 1e3 / n, 3),
    }


async def day_in_the_life(
    lg: LoadGen, procs: list[Proc], pairs: list[Pair], acks: bool, sizes: Sizes, agents: int
) -> dict[str, Any]:
    """Each side of each chat: typing, then a message, every ``day_interval_secs`` or so
    (uniformly 0.5 to 1.5 times it), each side waiting for its own message to be acked."""
    stats = Stats()
    interval = sizes.day_interval_secs
    typing_secs = min(2.0, interval / 4)
    rng = random.Random(7)

    async def side(sender: Conn, cid: str, seed: float) -> None:
        r = random.Random(seed)
        await asyncio.sleep(r.uniform(0, interval))
        while True:
            await sender.send({"type": "typing", "conversation_id": cid, "active": True})
            await asyncio.sleep(typing_secs)
            await sender.send({"type": "typing", "conversation_id": cid, "active": False})
            await lg.send_message(sender, cid, acks, stats)
            await asyncio.sleep(max(0.0, r.uniform(0.5, 1.5) * interval - typing_secs))

    tasks = []
    for pair in pairs:
        tasks.append(asyncio.ensure_future(side(pair.visitor, pair.conversation_id, rng.random())))
        tasks.append(asyncio.ensure_future(side(pair.agent, pair.conversation_id, rng.random())))
    try:
        await keep_going(lg, interval, tasks, stall_secs=60)
        a = snap(lg, procs)
        await keep_going(lg, sizes.day_secs, tasks, stall_secs=60)
        b = snap(lg, procs)
    finally:
        for task in tasks:
            task.cancel()
    await wind_down(lg, stats, 60, "the day in the life")
    samples = stats.between(a.t, b.t)
    delivery = [s[1] for s in samples]
    acks_ = [s[2] for s in samples if s[2] is not None]
    wall = b.t - a.t
    cpu = b.server_cpu - a.server_cpu
    return {
        "agents": agents,
        "chats": len(pairs),
        "interval_secs": interval,
        "intended_msgs_per_s": round(2 * len(pairs) / interval, 1),
        "msgs_per_s": round((b.completed - a.completed) / wall, 1),
        "typing_relayed_per_s": round((b.typing - a.typing) / wall, 1),
        "server_cores": round(cpu / wall, 3),
        "server_share_of_two_cores": round(cpu / wall / 2, 3),
        "loadgen_cpu_share": round((b.loadgen_cpu - a.loadgen_cpu) / wall, 3),
        "steal": round(steal_between(a.stat, b.stat), 4),
        "p50_ms": ms(pct(delivery, 0.5)),
        "p99_ms": ms(pct(delivery, 0.99)),
        "p999_ms": ms(pct(delivery, 0.999)),
        "ack_p99_ms": ms(pct(acks_, 0.99)),
        "samples": len(samples),
    }


def routing_decision(repeat: int) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("routing_decision", BENCH / "routing_decision.py")
    if spec is None or spec.loader is None:
        raise BenchError("cannot load bench/routing_decision.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    router = module.build(1_000, 10_000)
    dispatch, both = module.decision_secs(router, repeat)
    return {
        "agents": 1_000,
        "waiting": 10_000,
        "decision_ms_10k": round(dispatch * 1e3, 4),
        "tick_and_decision_ms_10k": round(both * 1e3, 4),
    }


# --- PostgreSQL databases ---------------------------------------------------------------------


class Databases:
    """Fresh PostgreSQL databases for this run, dropped at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=10)

    def check(self) -> None:
        import redis

        try:
            with self._admin() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            raise BenchError(
                f"PostgreSQL at {PG_URL} is not reachable ({exc}); "
                "give PARLEY_BENCH_PG_URL or --skip postgres"
            ) from None
        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
        except Exception as exc:
            raise BenchError(
                f"Redis at {REDIS_URL} is not reachable ({exc}); "
                "give PARLEY_BENCH_REDIS_URL or --skip postgres"
            ) from None

    def create(self) -> str:
        name = f"bench_{secrets.token_hex(6)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        base, _, _ = PG_URL.rpartition("/")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        for name in self.names:
            try:
                with self._admin() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # cleanup goes on; say what was left
                print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)
        self.names.clear()


# --- the run ----------------------------------------------------------------------------------


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in (
        "msgs_per_server_cpu_s",
        "msgs_per_s",
        "server_cpu_share",
        "loadgen_cpu_share",
        "steal",
        "frames_per_msg",
    ):
        out[key] = spread(r[key] for r in runs)
    return out


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def run(
    args: argparse.Namespace, sizes: Sizes, tmp: Path, procs: Procs, dbs: Databases
) -> dict[str, Any]:
    skip = set(args.skip)
    began = time.perf_counter()
    result: dict[str, Any] = {
        "meta": {
            "quick": args.quick,
            "sizes": sizes.__dict__,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cores": os.cpu_count(),
            "server_core": SERVER_CORE,
            "loadgen_core": LOADGEN_CORE,
            "client": args.client,
            "client_offers_deflate": args.client == "websockets" and args.client_deflate,
            "python": sys.version.split()[0],
        }
    }
    lg = LoadGen(args.client, args.client_deflate)
    day = "day" not in skip or "idle" not in skip or "storm" not in skip
    with_pg = "postgres" not in skip
    two_nodes = with_pg and "two_nodes" not in skip

    # Start Parley: SQLite; PostgreSQL + Redis; two nodes on another PostgreSQL database.
    log("seeding accounts and starting Parley nodes")
    if with_pg:
        dbs.check()
    starts: list[Awaitable[Any]] = [
        start_parley(procs, "sqlite", tmp, sizes, backend="sqlite", day=day)
    ]
    if with_pg:
        starts.append(
            start_parley(
                procs,
                "postgres",
                tmp,
                sizes,
                backend="postgres",
                day=day and sizes.postgres_day,
                database_url=dbs.create(),
            )
        )
    if two_nodes:
        starts.append(
            start_parley(
                procs,
                "postgres_2nodes",
                tmp,
                sizes,
                backend="postgres",
                nodes=2,
                database_url=dbs.create(),
            )
        )
    started = await asyncio.gather(*starts)
    parleys: dict[str, ParleyTarget] = {}

    async def prepare(
        name: str,
        nodes: list[Node],
        env: dict[str, str],
        pair_agents: list[str],
        day_agents: list[str],
    ) -> None:
        log(
            f"setting up {name}: {sizes.pairs} pairs"
            f"{f', {len(day_agents)} agents in {sizes.day_chats} chats' if day_agents else ''}"
        )
        pt = await setup_parley(
            lg, name, nodes, env, pair_agents, day_agents, sizes.pairs, sizes.day_workgroup_agents
        )
        if day_agents:
            await setup_day(lg, pt, sizes, day_agents)
        parleys[name] = pt
        log(f"{name} is set up: {pt.setup}")

    # All set up at once: the nodes wait on their disks much of the time.
    names = ["sqlite", "postgres", "postgres_2nodes"][: len(started)]
    await asyncio.gather(*(prepare(n, *s) for n, s in zip(names, started, strict=True)))
    parleys = {n: parleys[n] for n in names}
    sqlite = parleys["sqlite"]
    frames = probe_frames_result = await probe_frames(lg, sqlite.target.pairs[0])
    if frames not in (1, 2, 3):
        log(f"warning: Parley sent {frames} frames for one message; the floor sends 3")
        frames = 3
    extensions = sqlite.target.pairs[0].visitor.extensions
    result["meta"]["parley_frames_per_message"] = probe_frames_result
    result["meta"]["parley_ws_extensions"] = extensions
    log(f"Parley sends {probe_frames_result} frames per message; extensions: {extensions}")

    # The floors, with the same frames per message as Parley, and one.
    relays = {
        "floor": ("websockets", frames),
        "floor_bare": ("websockets", 1),
        "floor_uvicorn": ("uvicorn", frames),
        "floor_uvicorn_bare": ("uvicorn", 1),
    }
    relay_nodes = {
        name: await start_relay(procs, name, stack, f) for name, (stack, f) in relays.items()
    }
    targets: list[Target] = [p.target for p in parleys.values()]
    for name, node in relay_nodes.items():
        await wait_ready(node.proc, node.port, None)
        stack, f = relays[name]
        target = Target(
            name,
            [node.proc],
            acks=f > 1,
            label=f"relay on {stack}, {f} frame{'s' if f > 1 else ''}/msg",
        )
        target.pairs = await relay_pairs(lg, node, sizes.pairs)
        targets.append(target)
    result["meta"]["floor_ws_extensions"] = targets[-1].pairs[0].visitor.extensions
    result["meta"]["setup"] = {k: p.setup for k, p in parleys.items()}
    by_name = {t.name: t for t in targets}

    # Closed loop, interleaved.
    if "closed" not in skip:
        runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
        for r in range(sizes.rounds):
            for target in targets:
                measured = await closed_loop(lg, target, sizes)
                runs[target.name].append(measured)
                log(
                    f"round {r + 1}/{sizes.rounds} {target.name}: "
                    f"{measured['msgs_per_server_cpu_s']} msgs/server-CPU-s, "
                    f"{measured['msgs_per_s']} msgs/s, server {measured['server_cpu_share']}, "
                    f"load generator {measured['loadgen_cpu_share']}"
                )
        for target in targets:
            summary = summarize(runs[target.name])
            result[target.name] = {
                "label": target.label,
                "msgs_per_server_cpu_s": summary["msgs_per_server_cpu_s"]["median"],
                "closed_loop": {
                    "pairs": sizes.pairs,
                    "in_flight_per_pair": sizes.in_flight,
                    "summary": summary,
                    "runs": runs[target.name],
                },
            }
        floor = result["floor"]["msgs_per_server_cpu_s"]
        for name in parleys:
            mine = result[name]["msgs_per_server_cpu_s"]
            result[name]["ratio_to_floor"] = round(mine / floor, 5) if mine and floor else None
            per_round = [
                a["msgs_per_server_cpu_s"] / b["msgs_per_server_cpu_s"]
                for a, b in zip(runs[name], runs["floor"], strict=True)
                if a["msgs_per_server_cpu_s"] and b["msgs_per_server_cpu_s"]
            ]
            result[name]["ratio_to_floor_per_round"] = spread(per_round)
        if "postgres_2nodes" in result and result["postgres"].get("msgs_per_server_cpu_s"):
            result["postgres_2nodes"]["ratio_to_one_node"] = round(
                result["postgres_2nodes"]["msgs_per_server_cpu_s"]
                / result["postgres"]["msgs_per_server_cpu_s"],
                4,
            )
        bare = result["floor_bare"]["msgs_per_server_cpu_s"]
        result["floor"]["ratio_to_floor_bare"] = round(floor / bare, 4) if floor and bare else None

    # Open loop latency.
    if "latency" not in skip:
        plan = [("sqlite", sizes.rates), ("floor", sizes.rates), ("floor_bare", sizes.rates)]
        if "postgres" in by_name:
            plan.append(("postgres", sizes.postgres_rates))
        for name, rates in plan:
            saturated_at: int | None = None
            for rate in sorted(rates):
                if saturated_at is not None:
                    # A higher rate would only build a longer backlog to drain.
                    measured = {
                        "rate": rate,
                        "saturated": True,
                        "skipped": True,
                        "p50_ms": None,
                        "p99_ms": None,
                        "p999_ms": None,
                        "note": f"not run: saturated at {saturated_at} msg/s already",
                    }
                    result.setdefault(name, {}).setdefault("latency", {})[str(rate)] = measured
                    log(f"{name} at {rate} msg/s: skipped, saturated at {saturated_at} msg/s")
                    continue
                measured = await open_loop(lg, by_name[name], rate, sizes.latency_secs)
                if measured["saturated"]:
                    saturated_at = rate
                result.setdefault(name, {}).setdefault("latency", {})[str(rate)] = measured
                log(
                    f"{name} at {rate} msg/s: p50 {measured['p50_ms']} p99 {measured['p99_ms']} "
                    f"p99.9 {measured['p999_ms']} ms"
                    f"{' (saturated: lower bounds)' if measured['saturated'] else ''}"
                )
        for name in ("sqlite", "postgres"):
            latency = result.get(name, {}).get("latency", {})
            if "1000" in latency:
                result[name]["p99_ms_at_1000"] = latency["1000"]["p99_ms"]
            if "10000" in latency:
                result[name]["p99_ms_at_10000"] = latency["10000"]["p99_ms"]

    # The day's chats; idle connections; the day; the reconnect storm.
    day_targets = ["sqlite"] + (
        ["postgres"] if sizes.postgres_day and "postgres" in parleys else []
    )
    if day:
        for name in day_targets:
            pt = parleys[name]
            node = pt.nodes[0]
            if "idle" not in skip and name == "sqlite":
                log(f"{name}: idle connections {sizes.idle}")
                tokens = [c.visitor_token for c in pt.day_chats]
                idle = await idle_connections(
                    lg,
                    node.proc,
                    node.ws_url,
                    sizes.idle,
                    visitor_hello(tokens),
                )
                idle["visitor_tokens"] = len(tokens)
                result.setdefault(name, {})["idle"] = idle
                result["idle_kb_per_connection"] = idle["kb_per_connection"]
            if "day" not in skip:
                log(f"{name}: a day in the life, {sizes.day_secs:.0f} s")
                pairs = [
                    Pair(c.visitor, c.agent, c.conversation_id)
                    for c in pt.day_chats
                    if c.visitor and c.agent
                ]
                result.setdefault(name, {})["day"] = await day_in_the_life(
                    lg, pt.target.procs, pairs, True, sizes, len(pt.day_agents)
                )
                log(f"{name} day: {result[name]['day']}")
            if "storm" not in skip:
                log(f"{name}: reconnect storm of {len(pt.day_chats)} visitors")
                result.setdefault(name, {})["storm"] = await reconnect_storm(
                    lg, node.proc, node.ws_url, pt.day_chats
                )
                log(f"{name} storm: {result[name]['storm']}")
        floor_node = relay_nodes["floor"]
        if "idle" not in skip:
            for name in ("floor", "floor_uvicorn") if not args.quick else ("floor",):
                node = relay_nodes[name]
                log(f"{name}: idle connections {sizes.idle}")
                result.setdefault(name, {})["idle"] = await idle_connections(
                    lg,
                    node.proc,
                    node.ws_url,
                    sizes.idle,
                    lambda i: {"key": "visitor", "follow": [f"idle{i}"]},
                )
        if "storm" not in skip:
            result.setdefault("floor", {})["storm"] = await relay_connect_rate(
                lg, floor_node, sizes.day_chats
            )
        if "day" not in skip and sizes.floor_day:
            log(f"floor: a day in the life, {sizes.day_secs:.0f} s")
            pairs = await relay_day(lg, floor_node, sizes.day_chats, sizes.day_agents)
            result.setdefault("floor", {})["day"] = await day_in_the_life(
                lg, [floor_node.proc], pairs, frames > 1, sizes, sizes.day_agents
            )

    lg.abort_all()
    for pt in parleys.values():
        await pt.rest.close()
    if "routing" not in skip:
        log("routing decision at 1,000 agents and 10,000 waiting")
        try:
            result["routing"] = routing_decision(sizes.routing_repeat)
        except Exception as exc:  # report it, keep the rest of the run
            result["routing"] = {"error": f"{type(exc).__name__}: {exc}"}
    result["meta"]["errors_seen"] = lg.errors
    result["meta"]["duration_secs"] = round(time.perf_counter() - began, 1)
    return result


def print_table(result: dict[str, Any]) -> None:
    print()
    print(
        f"{'target':22s} {'msgs/server-CPU-s':>18s} {'min..max':>18s} {'msgs/s':>9s} "
        f"{'server':>7s} {'loadgen':>8s} {'frames':>7s} {'ratio':>8s}"
    )
    for name in (
        "sqlite",
        "postgres",
        "postgres_2nodes",
        "floor",
        "floor_bare",
        "floor_uvicorn",
        "floor_uvicorn_bare",
    ):
        r = result.get(name)
        if not r or "closed_loop" not in r:
            continue
        s = r["closed_loop"]["summary"]
        m = s["msgs_per_server_cpu_s"]
        ratio = r.get("ratio_to_floor")
        span = f"{m['min']:.0f}..{m['max']:.0f}"
        print(
            f"{name:22s} {m['median'] or 0:18.0f} {span:>18s} "
            f"{s['msgs_per_s']['median']:9.0f} {s['server_cpu_share']['median']:7.2f} "
            f"{s['loadgen_cpu_share']['median']:8.2f} {s['frames_per_msg']['median'] or 0:7.2f} "
            f"{'' if ratio is None else f'{ratio:.4f}':>8s}"
        )
    for name in ("sqlite", "postgres", "floor", "floor_bare"):
        for rate, lat in result.get(name, {}).get("latency", {}).items():
            print(
                f"latency {name:12s} {rate:>6s}/s  p50 {lat['p50_ms']} p99 {lat['p99_ms']} "
                f"p99.9 {lat['p999_ms']} ms{'  (saturated)' if lat['saturated'] else ''}"
            )
    if "idle_kb_per_connection" in result:
        print(
            f"idle KB per connection: Parley {result['idle_kb_per_connection']}, floor "
            f"{result.get('floor', {}).get('idle', {}).get('kb_per_connection')}"
        )
    for name in ("sqlite", "postgres"):
        if "storm" in result.get(name, {}):
            print(f"storm {name}: {result[name]['storm']['resumes_per_s']} resumes/s")
        if "day" in result.get(name, {}):
            d = result[name]["day"]
            print(
                f"day {name}: {d['server_cores']} cores, {d['msgs_per_s']} msgs/s of "
                f"{d['intended_msgs_per_s']}, p99 {d['p99_ms']} ms"
            )
    if "routing" in result:
        print(f"routing: {result['routing']}")
    print(f"took {result['meta']['duration_secs']} s")


def prepare_process() -> None:
    """Pin this process (the load generator) to its core; raise the open-files limit."""
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {LOADGEN_CORE})
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 400_000
    try:
        nr_open = int(Path("/proc/sys/fs/nr_open").read_text())
    except OSError:
        nr_open = hard
    target = min(want, nr_open)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--seed-accounts":
        seed_accounts_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short version (< 5 minutes)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--skip",
        type=lambda s: [x for x in s.split(",") if x],
        default=[],
        help=f"comma-separated, of: {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--pairs", type=int)
    parser.add_argument("--in-flight", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--window", type=float, help="seconds measured per closed-loop run")
    parser.add_argument(
        "--idle",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        help="idle connection counts, e.g. 10000,50000",
    )
    parser.add_argument("--day-agents", type=int)
    parser.add_argument("--day-chats", type=int)
    parser.add_argument("--day-secs", type=float)
    parser.add_argument(
        "--day-workgroup-agents",
        type=int,
        help="the day's agents in workgroups of at most this many (default 100)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "websockets"],
        default="raw",
        help="the load generator's WebSocket client: raw (cheap, offers no extensions) or "
        "websockets (its asyncio client)",
    )
    parser.add_argument(
        "--client-deflate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --client websockets: offer permessage-deflate, as browsers do",
    )
    parser.add_argument("--max-secs", type=float, help="give up after this long")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs directory")
    args = parser.parse_args()
    unknown = set(args.skip) - set(SCENARIOS)
    if unknown:
        parser.error(f"--skip: unknown {', '.join(sorted(unknown))}")
    if args.rounds is not None and args.rounds < 3:
        parser.error("--rounds: at least 3 (min/median/max)")
    sizes = QUICK if args.quick else FULL
    overrides = {
        "pairs": args.pairs,
        "in_flight": args.in_flight,
        "rounds": args.rounds,
        "window_secs": args.window,
        "idle": args.idle,
        "day_agents": args.day_agents,
        "day_chats": args.day_chats,
        "day_secs": args.day_secs,
        "day_workgroup_agents": args.day_workgroup_agents,
    }
    sizes = replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    max_secs = args.max_secs or (600 if args.quick else 10_800)

    prepare_process()
    tmp = Path(tempfile.mkdtemp(prefix="parley-side-by-side-"))
    procs = Procs(tmp)
    dbs = Databases()
    ok = False

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGALRM, on_term)
    signal.alarm(int(max_secs + 120))  # the last resort, should the event loop be stuck
    try:
        import uvloop

        async def bounded() -> dict[str, Any]:
            try:
                return await asyncio.wait_for(run(args, sizes, tmp, procs, dbs), max_secs)
            except TimeoutError:
                raise BenchError(f"the run took longer than {max_secs:.0f} s") from None

        result = uvloop.run(bounded())
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        print_table(result)
        ok = True
    except BenchError as exc:
        print(f"\nerror: {exc}\n(logs in {tmp})", file=sys.stderr)
        sys.exit(1)
    finally:
        signal.alarm(0)
        procs.stop_all()
        dbs.drop_all()
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif not ok:
            print(f"logs kept in {tmp}", file=sys.stderr)


if __name__ == "__main__":
    main()
