"""Backup and restore (issue 8, item 7): pg_dump / pg_restore of the configured schema on PostgreSQL, the
SQLite online backup API on SQLite. A restore goes only into an empty database, and is all or nothing."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

from emhana.kernel.db import normalize_url


class BackupError(Exception):
    """A backup or restore could not be done; the message says why (no personal data in it)."""


@dataclass(frozen=True)
class PgTarget:
    """How to reach a PostgreSQL database with the command-line tools, and which schema is ours."""

    args: list[str]
    env: dict[str, str]
    schema: str | None


def pg_target(url: URL) -> PgTarget:
    """Turn a SQLAlchemy URL (with an optional ``options=-csearch_path=SCHEMA``) into libpq arguments."""
    args = ["-d", url.database or "postgres"]
    if url.host:
        args += ["-h", url.host]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    # The environment handed on to pg_dump/psql (PATH, PG* variables), not read for emhana's own settings.
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    options = url.query.get("options", "")
    found = re.search(r"search_path=([A-Za-z_][A-Za-z0-9_]*)", options if isinstance(options, str) else "")
    return PgTarget(args=args, env=env, schema=found.group(1) if found else None)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed")
    return found


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-2000:]}")


BACKUP_MODE = 0o600  # a backup holds every person's data: readable by its owner only, whatever the umask


def _private_file(path: Path) -> None:
    """Create (or empty) a file only its owner can read and write, before any data goes into it."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE))
    os.chmod(path, BACKUP_MODE)  # os.open's mode is filtered by the umask; this is not


def backup(database_url: str, out: Path) -> None:
    """Write a consistent copy of the database to ``out`` (pg_dump custom format, or a SQLite file), mode 0600:
    the data never sits in a file others can read, not even while it is being written."""
    url = make_url(normalize_url(database_url))
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = out.with_name(out.name + ".part")
    _private_file(tmp)
    try:
        if url.get_backend_name() == "sqlite":
            source = _sqlite_path(url)
            if not source.exists():
                raise BackupError("the SQLite database does not exist")
            # SQLite gives its journal the database file's mode, so the snapshot never exists world-readable.
            with sqlite3.connect(source) as src, sqlite3.connect(tmp) as dst:
                src.backup(dst)  # an online, consistent snapshot, even while the server writes (WAL)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        else:
            target = pg_target(url)
            cmd = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(tmp)]
            cmd += target.args + (["--schema", target.schema] if target.schema else [])
            _run(cmd, target.env)
        os.chmod(tmp, BACKUP_MODE)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _ensure_empty(database_url: str, schema: str | None) -> None:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_schema_names()
            if schema is not None and schema in names and inspect(conn).get_table_names(schema=schema):
                raise BackupError(f"schema {schema} is not empty; restore only into an empty database")
            if schema is None and inspect(conn).get_table_names():
                raise BackupError("the database is not empty; restore only into an empty database")
    finally:
        engine.dispose()


def dump_schemas(file: Path) -> list[str]:
    """Return the schemas a pg_dump archive creates."""
    done = subprocess.run([_tool("pg_restore"), "--list", str(file)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"not a pg_dump archive: {done.stderr.strip()[-500:]}")
    return re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", done.stdout, flags=re.MULTILINE)


def restore(database_url: str, source: Path) -> None:
    """Restore a backup made by :func:`backup` into an empty database (all or nothing)."""
    if not source.is_file():
        raise BackupError("the backup file does not exist")
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite":
        target_path = _sqlite_path(url)
        if target_path.exists() and target_path.stat().st_size > 0:
            _ensure_empty(database_url, None)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
                if src.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                    raise BackupError("the backup file fails SQLite's integrity check")
                with sqlite3.connect(target_path) as dst:
                    src.backup(dst)
                    dst.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"not a SQLite backup: {exc}") from exc
        return
    target = pg_target(url)
    schemas = dump_schemas(source)
    if target.schema is not None and schemas and target.schema not in schemas:
        raise BackupError(f"the backup holds schema {', '.join(schemas)}, not {target.schema}")
    _ensure_empty(database_url, target.schema)
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            *target.args,
            str(source),
        ],
        target.env,
    )
