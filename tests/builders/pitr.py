"""Point-in-time recovery on a test's own cluster (docs/topology.md, "Backups, WAL archive and point-in-time
recovery"): WAL archived to a folder by ``archive_command``, a base backup taken with ``pg_basebackup``, and a
restore of that backup into a new folder that replays the archive with ``restore_command`` up to
``recovery_target_time``. Never touches the shared server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.builders.postgres_cluster import BIN, Cluster
from tests.builders.replicas import query


def owned_folder(cluster: Cluster, path: Path) -> Path:
    """Make a folder the cluster's postmaster can write to (it runs as `postgres` when the tests run as root)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if cluster.as_user:
        os.chown(path, cluster.as_user["user"], cluster.as_user["group"])
    return path


def archive_to(cluster: Cluster, archive: Path) -> None:
    """Turn WAL archiving on (a restart: ``archive_mode`` is read at start): every finished WAL segment is copied
    to ``archive``, never over a file already there."""
    owned_folder(cluster, archive)
    query(cluster, "ALTER SYSTEM SET archive_mode = 'on'")
    query(cluster, f"ALTER SYSTEM SET archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'")
    cluster.stop()
    cluster.start()


def base_backup(cluster: Cluster, out: Path) -> Path:
    """``pg_basebackup`` of the whole cluster as compressed tar files (``base.tar.gz``, and ``pg_wal.tar.gz``: the
    WAL written while the backup ran, so the backup is consistent by itself). Returns the folder."""
    owned_folder(cluster, out)
    done = subprocess.run(
        [str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
        + ["-D", str(out), "-F", "tar", "-z", "-X", "stream", "-c", "fast", "--no-sync"],
        capture_output=True,
        timeout=300,
        check=False,
        **cluster.as_user,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_basebackup failed: {done.stderr.decode()[-2000:]}")
    return out


def archive_everything(cluster: Cluster, timeout: float = 60) -> None:
    """Close the current WAL segment and wait until the archiver has copied it (a deadline for a condition, not a
    timing assertion): everything committed so far is then in the archive."""
    segment = query(cluster, "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + timeout
    while str(query(cluster, "SELECT last_archived_wal FROM pg_stat_archiver") or "") < str(segment):
        failed = query(cluster, "SELECT last_failed_wal FROM pg_stat_archiver")
        if time.monotonic() > deadline:
            raise AssertionError(f"segment {segment} was not archived (last failure: {failed})")
        time.sleep(0.05)


@contextmanager
def restored(backup: Path, archive: Path, target_time: str, timeout: float = 120) -> Iterator[Cluster]:
    """Restore the base backup into a new folder, replay the archive up to ``target_time`` (a timestamp with its
    zone), promote, and yield the running cluster; stop it and remove its folder afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="emhana-pg-pitr-"))
    cluster = Cluster(folder)
    try:
        data = owned_folder(cluster, cluster.data)
        for name, into in (("base.tar.gz", data), ("pg_wal.tar.gz", data / "pg_wal")):
            done = subprocess.run(
                ["tar", "-xzf", str(backup / name), "-C", str(into)],
                capture_output=True,
                timeout=300,
                check=False,
                **cluster.as_user,
            )
            if done.returncode != 0:
                raise RuntimeError(f"tar -x {name} failed: {done.stderr.decode()[-2000:]}")
        settings = {
            "restore_command": f"cp {archive}/%f %p",
            "recovery_target_time": target_time,
            "recovery_target_action": "promote",
            "archive_mode": "off",  # this copy must not write into the primary's archive
        }
        with open(data / "postgresql.auto.conf", "a", encoding="utf-8") as conf:  # the last setting wins
            conf.writelines(f"{key} = '{value}'\n" for key, value in settings.items())
        (data / "recovery.signal").touch()
        if cluster.as_user:
            os.chown(data / "recovery.signal", cluster.as_user["user"], cluster.as_user["group"])
        cluster.start(timeout=timeout)
        deadline = time.monotonic() + timeout
        while query(cluster, "SELECT pg_is_in_recovery()"):
            if time.monotonic() > deadline or (cluster.proc is not None and cluster.proc.poll() is not None):
                raise AssertionError(f"recovery did not finish: {cluster.log()[-2000:]}")
            time.sleep(0.1)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
