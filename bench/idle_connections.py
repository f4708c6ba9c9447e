"""Memory per idle authenticated visitor connection: Parley's RSS before and after N sockets.

Starts ``parley serve`` as a subprocess (SQLite in a temporary data directory, a random port,
the abuse limits raised so that one client address may open every chat and every socket),
creates an admin offline, a workgroup that queues chats without agents, and ``--chats`` chats
over REST. Then it opens a warm-up of sockets (so that what every first connection loads or
allocates once is not counted), reads the server's ``VmRSS`` from ``/proc/<pid>/status``, opens
``--connections`` visitor sockets (each says ``hello`` with a visitor token, the chats' tokens in
turn, and waits for ``synced``), lets the server settle, and reads ``VmRSS`` again:

    KB per connection = (RSS after - RSS before) / connections

with the marginal figure between the half and the whole. ``--compare-bare`` does the same
against ``bench/relay.py`` (a bare relay holding the same sockets: plain ``websockets`` and
uvicorn's stack), so that the figures can be read against a floor measured in the same run.

The client offers permessage-deflate, as browsers do; the server decides
(``ws_per_message_deflate``, off by default; ``--deflate`` turns it on).

    python bench/idle_connections.py --connections 10000 --json idle.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
ADMIN, PASSWORD = "bench-admin", "bench-password-1"
WARM_UP = 100
SETTLE_SECS = 3.0
MANY = "1000000 per second"


class BenchError(Exception):
    pass


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit (children inherit it) as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for {pid}")


class Server:
    """A server process of ours; stopped (its process group) whatever happens."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
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

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()

    async def wait_ready(self, port: int, path: str | None, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            if self.popen.poll() is not None:
                raise BenchError(f"{self.name} exited early; its log:\n{self.tail()}")
            with contextlib.suppress(OSError, TimeoutError):
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 2
                )
                if path is None:
                    writer.close()
                    return
                request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                writer.write(request.encode())
                status = await asyncio.wait_for(reader.readline(), 5)
                writer.close()
                if b" 200 " in status:
                    return
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} not ready within {within:.0f} s:\n{self.tail()}")
            await asyncio.sleep(0.2)


def parley_env(port: int, data_dir: Path, deflate: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env.update(
        {
            "PARLEY_HOST": "127.0.0.1",
            "PARLEY_PORT": str(port),
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_LOG_LEVEL": "warning",
            # Every chat and every socket comes from one address: the per-address limits
            # (docs/security.md) would measure themselves.
            "PARLEY_CHAT_IP_LIMIT": MANY,
            "PARLEY_CHAT_WORKGROUP_LIMIT": MANY,
            "PARLEY_LOGIN_IP_LIMIT": MANY,
            "PARLEY_WS_CONNECTIONS_PER_IP": "100000000",
            "PARLEY_WS_PER_MESSAGE_DEFLATE": "true" if deflate else "false",
        }
    )
    return env


async def gather_limited(n: int, limit: int, make: Any) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


async def open_socket(url: str, hello: dict[str, Any]) -> ClientConnection:
    """A connection that said hello and was told ``synced``; the client offers deflate."""
    ws = await connect(url, open_timeout=60, ping_interval=None, max_queue=None)
    await ws.send(json.dumps(hello))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame.get("type") == "synced":
            return ws
        if frame.get("type") == "error":
            raise BenchError(f"hello refused: {frame}")


async def hold(
    pid: int, url: str, hellos: Sequence[dict[str, Any]], connections: int
) -> dict[str, Any]:
    """The warm-up, then ``connections`` more sockets; RSS before, at the half and after."""
    opened: list[ClientConnection] = []

    async def batch(start: int, count: int) -> None:
        async def one(i: int) -> None:
            opened.append(await open_socket(url, hellos[(start + i) % len(hellos)]))

        await gather_limited(count, 100, one)

    try:
        await batch(0, WARM_UP)
        await asyncio.sleep(SETTLE_SECS)
        before = rss_kb(pid)
        half = connections // 2
        began = time.perf_counter()
        await batch(WARM_UP, half)
        await asyncio.sleep(SETTLE_SECS)
        middle = rss_kb(pid)
        await batch(WARM_UP + half, connections - half)
        took = time.perf_counter() - began
        await asyncio.sleep(SETTLE_SECS)
        after = rss_kb(pid)
        extensions = [type(e).__name__ for e in opened[-1].protocol.extensions]
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    return {
        "connections": connections,
        "rss_kb_before": before,
        "rss_kb_after": after,
        "kb_per_connection": round((after - before) / connections, 2),
        "kb_per_connection_marginal": round((after - middle) / max(1, connections - half), 2),
        "hellos_per_s": round(connections / took, 1),
        "extensions": extensions,
    }


async def parley(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    data_dir = tmp / "data"
    env = parley_env(port, data_dir, args.deflate)
    python = sys.executable
    create = ["admin", "create-user", "--username", ADMIN, "--role", "admin", "--password-stdin"]
    seed = await asyncio.create_subprocess_exec(
        python,
        "-m",
        "parley.cli",
        *create,
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await seed.communicate((PASSWORD + "\n").encode())
    if seed.returncode != 0:
        raise BenchError(f"creating the admin failed:\n{output.decode(errors='replace')}")
    server = Server("parley", [python, "-m", "parley.cli", "serve"], env, tmp)
    try:
        await server.wait_ready(port, "/readyz")
        base = f"http://127.0.0.1:{port}/api/v1"
        async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as http:
            r = await http.post("/auth/login", json={"username": ADMIN, "password": PASSWORD})
            r.raise_for_status()
            auth = {"Authorization": f"Bearer {r.cookies['parley_session']}"}
            wg = {"slug": "idle", "name": "Idle", "max_chats": 1, "wait_timeout_secs": 86_400}
            (await http.post("/admin/workgroups", json=wg, headers=auth)).raise_for_status()
            hours = {"hours": None, "email": "", "queue_without_agents": True}
            (await http.put("/workgroups/idle/hours", json=hours, headers=auth)).raise_for_status()

            async def chat(i: int) -> dict[str, Any]:
                r = await http.post("/workgroups/idle/chats", json={"name": f"Visitor {i}"})
                if r.status_code != 201:
                    raise BenchError(f"opening a chat: {r.status_code} {r.text[:200]}")
                return {"type": "hello", "visitor_token": r.json()["visitor_token"]}

            began = time.perf_counter()
            hellos = await gather_limited(args.chats, 16, chat)
            opened_in = time.perf_counter() - began
        result = await hold(server.pid, f"ws://127.0.0.1:{port}/ws", hellos, args.connections)
        result["chats"] = args.chats
        result["chats_opened_per_s"] = round(args.chats / opened_in, 1)
        result["ws_per_message_deflate"] = args.deflate
        return result
    finally:
        server.stop()


async def bare(tmp: Path, stack: str, connections: int) -> dict[str, Any]:
    """``bench/relay.py`` holding the same number of sockets (each follows its own chat)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(SRC))
    argv = [sys.executable, str(ROOT / "bench" / "relay.py"), "--stack", stack]
    server = Server(f"relay-{stack}", [*argv, "--frames", "2", "--port", str(port)], env, tmp)
    try:
        await server.wait_ready(port, None)
        total = connections + WARM_UP
        hellos = [{"type": "hello", "key": "visitor", "follow": [f"c{i}"]} for i in range(total)]
        result = await hold(server.pid, f"ws://127.0.0.1:{port}/", hellos, connections)
        result["stack"] = stack
        return result
    finally:
        server.stop()


def report(name: str, r: dict[str, Any]) -> None:
    print(
        f"{name:24} {r['connections']:6d} sockets  RSS {r['rss_kb_before'] / 1024:7.1f} -> "
        f"{r['rss_kb_after'] / 1024:7.1f} MB  {r['kb_per_connection']:6.2f} KB/conn "
        f"(marginal {r['kb_per_connection_marginal']:.2f})  {r['hellos_per_s']:.0f} hellos/s  "
        f"extensions {r['extensions'] or 'none'}"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    limit = raise_fd_limit(args.connections + WARM_UP + 1000)
    if limit < args.connections + WARM_UP + 200:
        raise BenchError(f"the open-file limit ({limit}) is too low for {args.connections}")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="parley-idle-") as name:
        tmp = Path(name)
        out["parley"] = await parley(tmp, args)
        report("parley", out["parley"])
        if args.compare_bare:
            for stack in ("websockets", "uvicorn"):
                out[f"bare_{stack}"] = await bare(tmp, stack, args.connections)
                report(f"bare relay ({stack})", out[f"bare_{stack}"])
    out["idle_kb_per_connection"] = out["parley"]["kb_per_connection"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument(
        "--chats", type=int, default=500, help="chats the sockets share (0: one each)"
    )
    parser.add_argument("--deflate", action="store_true", help="the server accepts deflate")
    parser.add_argument("--compare-bare", action="store_true", help="also measure bench/relay.py")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    if args.chats <= 0:
        args.chats = args.connections + WARM_UP
    try:
        result = asyncio.run(run(args))
    except BenchError as exc:
        sys.exit(f"error: {exc}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
