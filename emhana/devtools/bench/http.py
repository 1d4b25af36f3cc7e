"""HTTP reads through the real server: uvicorn with 2 workers in a subprocess, a load generator on loopback.

The load generator is asyncio with raw keep-alive HTTP/1.1 connections (no client library on the hot path),
in this process. Two ways to drive it:

* closed loop (`load`): each connection sends its next request when the last answer is in; a warm-up, then a
  timed window; throughput = **2xx** answers completed in the window / its length, latency per request on the
  client over those 2xx answers only. A non-2xx answer never counts toward a rate or a percentile: it is an error,
  counted apart with its status (issue 18, item 6).
* open loop (`open_loop`, the load profiles of emhana.devtools.bench.profiles): requests arrive on a schedule
  fixed in advance (Poisson arrivals per kind at the offered rate), whatever the server's pace; latency runs from
  the scheduled instant (a request that waits for a free connection waits on the clock, so a server that falls
  behind shows it in its p99 instead of slowing the arrivals down).

`check` sends each path of a sample once before timing and names those that do not answer 200.
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
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from emhana.accounts.roles import Role
from emhana.devtools.bench.measure import percentile
from emhana.kernel import clock


@dataclass(frozen=True)
class Load:
    """One closed-loop window: `requests` 2xx answers (the rate and percentiles count these only) and `errors`
    non-2xx answers (or failed exchanges) in it, by status (0: no answer)."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Call:
    """One HTTP request of a load: method, path, bearer token (or none), JSON body (or none)."""

    method: str
    path: str
    token: str = ""
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Accept-Language: ru"]
        if self.token:
            lines.append(f"Authorization: Bearer {self.token}")
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method != "GET":
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


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
    url: str,
    workers: int = 2,
    peaks: list[float] | None = None,
    *,
    factory: str = "emhana.devtools.bench.floor:create_app",
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """Start `uvicorn <factory>` on a free loopback port; stop it (by its pid) afterwards. The default is the real
    application (emhana.app:create_app) with the bench-only reference floor route (emhana.devtools.bench.floor).
    `peaks` receives the server's peak memory (its processes' VmHWM summed) just before it stops; `env` adds
    variables (emhana.devtools.bench.serve reads EMHANA_BENCH_CLOCK)."""
    peaks = [] if peaks is None else peaks
    port = free_port()
    env = {
        **os.environ,
        "EMHANA_DATABASE_URL": url,
        "EMHANA_SECRET_KEY": secrets.token_urlsafe(48),
        "EMHANA_DEMO_MODE": "0",
        **(env or {}),
    }
    # the server's errors go to a file, read only if it exits: a pipe nobody reads would block the server once
    # it had written a pipe's worth
    kept = os.environ.get("EMHANA_BENCH_SERVER_ERRORS")  # a file to append the server's errors to, to read later
    errors = open(kept, "ab") if kept else tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
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
        stderr=errors,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                errors.seek(0)
                raise RuntimeError("the server exited: " + errors.read().decode(errors="replace")[-2000:])
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
        errors.close()


def tokens(
    engine: Engine,
    role: Role,
    name: str,
    *,
    entity_id: int | None = None,
    person_ids: list[int | None] | None = None,
    count: int = 1,
    now: dt.datetime | None = None,
) -> list[tuple[int, str]]:
    """Create accounts of a role (one per person of `person_ids`, else `count`), each with a bearer token valid a
    day (only its hash is stored, as emhana.accounts.service.issue_token does); return (account id, token)."""
    people: list[int | None] = person_ids if person_ids is not None else [None] * count
    now = now or clock.now()
    out: list[tuple[int, str]] = []
    with engine.begin() as conn:
        for i, person in enumerate(people):
            token = secrets.token_urlsafe(32)
            account = int(
                conn.scalar(
                    text(
                        "INSERT INTO account (username, password_hash, role, display_name, person_id, entity_id, "
                        "active, created_at) VALUES (:u, NULL, :r, :d, :p, :e, TRUE, now()) RETURNING id"
                    ),
                    {"u": f"{name}-{i}", "r": role.value, "d": name, "p": person, "e": entity_id},
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_token (account_id, token_hash, created_at, expires_at, revoked) "
                    "VALUES (:a, :h, :c, :x, FALSE)"
                ),
                {
                    "a": account,
                    "h": hashlib.sha256(token.encode()).hexdigest(),
                    "c": now,
                    "x": now + dt.timedelta(days=1),
                },
            )
            out.append((account, token))
    return out


def reader_token(engine: Engine, entity_id: int) -> str:
    """Create a clinician of an entity (reads its population's attachments and Patients and the entity's medical
    books); return a bearer token for it."""
    return tokens(engine, Role.CLINICIAN, "bench-reader", entity_id=entity_id)[0][1]


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, asyncio.IncompleteReadError):
        pass


ANSWER_TIMEOUT = 60.0  # seconds: an answer not in by then is an error (status 0), the connection replaced


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection and read its whole answer; return the status."""
    return await asyncio.wait_for(_exchange_now(reader, writer, request), ANSWER_TIMEOUT)


async def _exchange_now(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


async def _connection(
    host: str,
    calls: list[Call],
    rng: random.Random,
    port: int,
    window: tuple[float, float],
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    encoded = [c.encode(host) for c in calls]
    try:
        while True:
            start = time.monotonic()
            if start >= window[1]:
                return
            try:
                status = await _exchange(reader, writer, rng.choice(encoded))
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                status = 0
            end = time.monotonic()
            if 200 <= status < 300:
                if window[0] <= end <= window[1]:  # a 2xx answer completed in the window
                    latencies.append(end - start)
            elif end >= window[0] and start < window[1]:  # an error touching the window, whenever it ends
                statuses[status] = statuses.get(status, 0) + 1
            if status == 0:  # the connection is gone: open another
                await _close(writer)
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        await _close(writer)


async def _load(
    host: str, port: int, calls: list[Call], connections: int, warm_up: float, seconds: float, seed: int
) -> Load:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    begin = time.monotonic() + warm_up
    window = (begin, begin + seconds)
    rngs = [random.Random(seed * 1000 + i) for i in range(connections)]
    await asyncio.gather(
        *(_connection(host, calls, rngs[i], port, window, latencies, statuses) for i in range(connections))
    )
    ms = sorted(x * 1000 for x in latencies)
    return Load(len(ms), seconds, percentile(ms, 50), percentile(ms, 99), sum(statuses.values()), statuses)


def load(
    host: str,
    port: int,
    paths: list[str] | list[Call],
    token: str = "",
    *,
    connections: int,
    seconds: float,
    warm_up: float = 2.0,
    seed: int = 1,
) -> Load:
    """Drive random requests (GETs of `paths` with `token`, or the given calls) over `connections` keep-alive
    connections for `seconds` after a warm-up (closed loop); only 2xx answers count toward the rate."""
    calls = [p if isinstance(p, Call) else Call("GET", p, token) for p in paths]
    return asyncio.run(_load(host, port, calls, connections, warm_up, seconds, seed))


async def _check(host: str, port: int, calls: list[Call], connections: int) -> list[tuple[Call, int]]:
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for c in calls:
        queue.put_nowait(c)
    refused: list[tuple[Call, int]] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                call = queue.get_nowait()
                try:
                    status = await _exchange(reader, writer, call.encode(host))
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                    status = 0
                    await _close(writer)
                    reader, writer = await asyncio.open_connection(host, port)
                if status != 200:
                    refused.append((call, status))
        finally:
            await _close(writer)

    await asyncio.gather(*(worker() for _ in range(max(1, min(connections, len(calls))))))
    return refused


def check(host: str, port: int, calls: list[Call], connections: int = 8) -> list[tuple[Call, int]]:
    """Send each call once (untimed); return those that did not answer 200, with their status (0: no answer)."""
    return asyncio.run(_check(host, port, calls, connections)) if calls else []


# --- open loop --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of request in an open-loop mix: its offered rate (per second) and the calls it takes, in order
    (a call that changes state, such as an application, is used once: give at least as many as arrive)."""

    name: str
    rate: float
    calls: list[Call]
    cycle: bool = True  # False: each call once, in order


@dataclass(frozen=True)
class KindResult:
    """What one kind of an open-loop run did inside the window: arrivals offered, 2xx answers completed, errors
    (non-2xx, no answer, or no answer before the drain ended) by status, latency from the scheduled instant."""

    name: str
    offered_rate: float
    offered: int
    ok: int
    errors: int
    p50_ms: float
    p99_ms: float
    seconds: float
    statuses: dict[int, int]

    @property
    def achieved_rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def schedule(rates: dict[str, float], seconds: float, seed: int) -> list[tuple[float, str]]:
    """Poisson arrivals of each kind at its rate over [0, seconds), merged in time order (reproducible)."""
    rng = random.Random(seed)
    out: list[tuple[float, str]] = []
    for name, rate in sorted(rates.items()):
        if rate <= 0:
            continue
        t = rng.expovariate(rate)
        while t < seconds:
            out.append((t, name))
            t += rng.expovariate(rate)
    out.sort()
    return out


async def _open_loop(
    host: str, port: int, kinds: list[Kind], seconds: float, warm_up: float, connections: int, seed: int, drain: float
) -> list[KindResult]:
    arrivals = schedule({k.name: k.rate for k in kinds}, warm_up + seconds, seed)
    by_name = {k.name: k for k in kinds}
    encoded = {k.name: [c.encode(host) for c in k.calls] for k in kinds}
    used = dict.fromkeys(by_name, 0)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: dict[str, list[float]] = {k.name: [] for k in kinds}
    statuses: dict[str, dict[int, int]] = {k.name: {} for k in kinds}
    offered = dict.fromkeys(by_name, 0)
    done_in_window = dict.fromkeys(by_name, 0)
    t0 = time.monotonic()
    window = (t0 + warm_up, t0 + warm_up + seconds)

    async def one(at: float, name: str, request: bytes) -> None:
        reader, writer = await pool.get()
        try:
            status = await _exchange(reader, writer, request)
        except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
            status = 0
            await _close(writer)
            reader, writer = await asyncio.open_connection(host, port)
        finally_at = time.monotonic()
        pool.put_nowait((reader, writer))
        if at < window[0]:
            return  # warm-up
        if 200 <= status < 300:
            latencies[name].append(finally_at - at)
            if finally_at <= window[1]:
                done_in_window[name] += 1
        else:
            statuses[name][status] = statuses[name].get(status, 0) + 1

    tasks: list[asyncio.Task[None]] = []
    for offset, name in arrivals:
        at = t0 + offset
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        kind = by_name[name]
        n = used[name]
        if not kind.calls or (not kind.cycle and n >= len(kind.calls)):
            continue  # not enough calls prepared for this kind: offered counts only what was sent
        used[name] = n + 1
        request = encoded[name][n % len(encoded[name])]
        if at >= window[0]:
            offered[name] += 1
        tasks.append(asyncio.ensure_future(one(at, name, request)))
    _done, pending = await asyncio.wait(tasks, timeout=drain) if tasks else (set(), set())
    late: dict[str, int] = dict.fromkeys(by_name, 0)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    while not pool.empty():
        await _close(pool.get_nowait()[1])
    results = []
    for k in kinds:
        answered = len(latencies[k.name]) + sum(statuses[k.name].values())
        late[k.name] = max(0, offered[k.name] - answered)
        if late[k.name]:
            statuses[k.name][0] = statuses[k.name].get(0, 0) + late[k.name]
        ms = sorted(x * 1000 for x in latencies[k.name])
        results.append(
            KindResult(
                k.name,
                k.rate,
                offered[k.name],
                done_in_window[k.name],
                sum(statuses[k.name].values()),
                percentile(ms, 50),
                percentile(ms, 99),
                seconds,
                statuses[k.name],
            )
        )
    return results


def open_loop(
    host: str,
    port: int,
    kinds: list[Kind],
    *,
    seconds: float,
    warm_up: float = 2.0,
    connections: int = 64,
    seed: int = 1,
    drain: float = 30.0,
) -> list[KindResult]:
    """Offer each kind at its rate on a Poisson schedule for warm-up + `seconds` over a pool of keep-alive
    connections; return per kind the arrivals offered and the 2xx answers completed in the window, errors, p50
    and p99 from the scheduled instant. Requests still unanswered `drain` seconds after the last arrival are
    errors (status 0)."""
    return asyncio.run(_open_loop(host, port, kinds, seconds, warm_up, connections, seed, drain))
