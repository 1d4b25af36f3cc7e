"""A PostgreSQL cluster of a test's own: initdb in a temporary folder, a postmaster on a free port that the test
may kill (SIGKILL) and start again, without touching the shared server other tests use.

PostgreSQL refuses to run as root: when the tests run as root, initdb and the postmaster run as the `postgres`
user (the folder is given to it)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.builders.servers import free_port

BIN = Path(os.environ.get("EMHANA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"  # who runs the cluster when the tests run as root


class Cluster:
    """One data folder and, while it runs, its postmaster (a child process of the test)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            owner = pwd.getpwnam(OWNER)
            self.as_user = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
            os.chown(folder, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        done = subprocess.run(
            [str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
            capture_output=True,
            timeout=120,
            check=False,
            **self.as_user,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.decode()[-2000:]}")

    def start(self, timeout: float = 60) -> None:
        """Start the postmaster and wait until it accepts connections (after a kill: once recovery is done,
        and once the killed postmaster's last backends have gone)."""
        deadline = time.monotonic() + timeout
        while True:
            log = open(self.folder / "postmaster.log", "ab")  # noqa: SIM115 - the child keeps it
            command = [str(BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.folder)]
            command += ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=60", "-c", "fsync=on"]
            proc = self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **self.as_user)
            log.close()
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres").close()
                    return
                except psycopg.OperationalError:
                    time.sleep(0.1)
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(f"postgres did not start: {self.log()[-2000:]}")
            time.sleep(0.2)  # it exited at once (the old backends still held the shared memory): again

    def kill(self) -> None:
        """SIGKILL the postmaster: no shutdown checkpoint, its backends left to notice and die."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """Fast shutdown (SIGINT)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        path = self.folder / "postmaster.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """Yield a new, running cluster of the test's own; stop it and remove its folder afterwards. Skip (saying
    why) only when PostgreSQL's binaries, or the user to run them as root, are missing."""
    if not (BIN / "initdb").is_file():
        pytest.skip(f"no PostgreSQL binaries in {BIN} (set EMHANA_TEST_PG_BIN) to start a cluster of the test's own")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            pytest.skip(f"running as root and there is no '{OWNER}' user to run PostgreSQL as")
    folder = Path(tempfile.mkdtemp(prefix="emhana-pg-"))  # not under pytest's 0700 root-owned folders
    cluster = Cluster(folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
