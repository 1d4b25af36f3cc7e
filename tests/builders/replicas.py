"""A streaming standby of a test's own cluster: ``pg_basebackup -R`` of the primary into a temporary folder and a
hot standby on another free port (docs/replicas.md). Never touches the shared server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.builders.postgres_cluster import BIN, Cluster


def dsn(cluster: Cluster) -> str:
    return f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"


def query(cluster: Cluster, sql: str) -> object:
    """Run one statement in autocommit on the cluster; return the first column of the first row, if any."""
    with psycopg.connect(dsn(cluster), autocommit=True) as conn:
        cur = conn.execute(sql)
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None


@contextmanager
def standby_of(primary: Cluster) -> Iterator[Cluster]:
    """Yield a running hot standby streaming from the primary; stop it and remove its folder afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="emhana-pg-standby-"))
    standby = Cluster(folder)
    try:
        done = subprocess.run(
            [str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
            + ["-D", str(standby.data), "-R", "-X", "stream", "--no-sync"],
            capture_output=True,
            timeout=120,
            check=False,
            **standby.as_user,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {done.stderr.decode()[-2000:]}")
        standby.start()
        yield standby
    finally:
        standby.stop()
        shutil.rmtree(folder, ignore_errors=True)


def wait_caught_up(primary: Cluster, standby: Cluster, timeout: float = 60) -> None:
    """Wait until the standby has replayed everything the primary has written so far (not a timing assertion: a
    deadline for a condition)."""
    target = query(primary, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while not query(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
        if time.monotonic() > deadline:
            raise AssertionError(f"the standby did not replay up to {target}")
        time.sleep(0.05)


def pause_replay(standby: Cluster, timeout: float = 60) -> None:
    """Pause the standby's replay and wait until it has paused (a pause is first only requested)."""
    query(standby, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + timeout
    while query(standby, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        if time.monotonic() > deadline:
            raise AssertionError("the standby's replay did not pause")
        time.sleep(0.05)


class Ticks:
    """A monotonic clock the test moves by hand (the router's checks are cached for a second)."""

    def __init__(self) -> None:
        self.now = time.monotonic()  # not before what the real clock already stamped

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
