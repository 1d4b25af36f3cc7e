"""HTTP reads through the real server: uvicorn with 2 workers in a subprocess, a load generator on loopback.

The load generator is asyncio with raw keep-alive HTTP/1.1 connections (no client library on the hot path),
in this process. Each endpoint gets a warm-up, then a timed window; throughput = responses completed in the
window / its length, latency per request on the client. Non-2xx responses are counted as errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from emhana.accounts.roles import Role
from emhana.devtools.bench.measure import percentile
from emhana.kernel import clock


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_peak_mb(pid: int) -> float:
    """Sum of the peak resident memory (VmHWM) of a process and its direct children, in MB (Linux /proc)."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return 0.0
    total = 0
    for p in pids:
        try:
            line = next(x for x in Path(f"/proc/{p}/status").read_text().splitlines() if x.startswith("VmHWM:"))
        except (OSError, StopIteration):
            continue
        total += int(line.split()[1])
    return total / 1024


@contextmanager
def server(
    url: str, workers: int = 2, peaks: list[float] | None = None
) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """Start `uvicorn emhana.app:create_app` on a free loopback port; stop it (by its pid) afterwards.
    `peaks` receives the server's peak memory (its processes' VmHWM summed) just before it stops."""
    peaks = [] if peaks is None else peaks
    port = free_port()
    env = dict(os.environ, EMHANA_DATABASE_URL=url, EMHANA_SECRET_KEY=secrets.token_urlsafe(48), EMHANA_DEMO_MODE="0")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "emhana.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the server exited: " + (proc.stderr.read().decode()[-2000:] if proc.stderr else ""))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield "127.0.0.1", port, proc
    finally:
        peaks.append(tree_peak_mb(proc.pid))
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reader_token(engine: Engine, entity_id: int) -> str:
    """Create a clinician of an entity (reads persons' attachments and the entity's medical books); return a
    bearer token for it (only its hash is stored, as emhana.accounts.service.issue_token does)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with engine.begin() as conn:
        account = conn.scalar(
            text(
                "INSERT INTO account (username, password_hash, role, display_name, entity_id, active, created_at) "
                "VALUES ('bench-reader', NULL, :r, 'Bench reader', :e, TRUE, now()) RETURNING id"
            ),
            {"r": Role.CLINICIAN.value, "e": entity_id},
        )
        conn.execute(
            text(
                "INSERT INTO api_token (account_id, token_hash, created_at, expires_at, revoked) "
                "VALUES (:a, :h, :c, :x, FALSE)"
            ),
            {"a": account, "h": hashlib.sha256(token.encode()).hexdigest(), "c": now, "x": now + dt.timedelta(days=1)},
        )
    return token


async def _connection(
    host: str,
    port: int,
    paths: list[str],
    token: str,
    rng: random.Random,
    window: tuple[float, float],
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    try:
        while True:
            start = time.monotonic()
            if start >= window[1]:
                return
            path = rng.choice(paths)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Accept-Language: ru\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            end = time.monotonic()
            if window[0] <= start and end <= window[1]:
                latencies.append(end - start)
                if head[9:10] != b"2":
                    errors[0] += 1
    finally:
        writer.close()


async def _load(
    host: str, port: int, paths: list[str], token: str, connections: int, warm_up: float, seconds: float, seed: int
) -> Load:
    latencies: list[float] = []
    errors = [0]
    begin = time.monotonic() + warm_up
    window = (begin, begin + seconds)
    rngs = [random.Random(seed * 1000 + i) for i in range(connections)]
    await asyncio.gather(
        *(_connection(host, port, paths, token, rngs[i], window, latencies, errors) for i in range(connections))
    )
    ms = sorted(x * 1000 for x in latencies)
    return Load(len(ms), seconds, percentile(ms, 50), percentile(ms, 99), errors[0])


def load(
    host: str,
    port: int,
    paths: list[str],
    token: str,
    *,
    connections: int,
    seconds: float,
    warm_up: float = 2.0,
    seed: int = 1,
) -> Load:
    """Drive GETs of random paths over `connections` keep-alive connections for `seconds` after a warm-up."""
    return asyncio.run(_load(host, port, paths, token, connections, warm_up, seconds, seed))
