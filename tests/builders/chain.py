"""Hash chains in tests: verify them, list their links and findings, and tamper with rows directly in SQL as an
attacker with the owner's rights would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, text

from emhana.audit.guard import suspended
from emhana.trust.chain.verify import Report, verify


def check(engine: Engine) -> Report:
    """Verify every chain of the test database."""
    with engine.connect() as conn:
        return verify(conn)


def problems(engine: Engine) -> list[tuple[str, str, int | None, str]]:
    """The findings as (problem, table, record id, chain key), sorted."""
    return sorted((f.problem, f.table, f.record_id, f.chain_key) for f in check(engine).findings)


def tamper(engine: Engine, *statements: str, **params: Any) -> None:
    """Run SQL as an attacker with the owner's rights would: around the append-only guards."""
    with engine.begin() as conn, suspended(conn):
        for sql in statements:
            conn.execute(text(sql), params)


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def links(engine: Engine, kind: str) -> Iterator[Any]:
    yield from rows(
        engine,
        "SELECT chain_key, seq, record_id, event FROM chain_link WHERE kind = :k ORDER BY chain_key, seq",
        k=kind,
    )


def cut_tail(engine: Engine, kind: str, key: str, table: str, n: int) -> list[int]:
    """Drop the last n links of a chain with their records and move its head back to the link before them, as
    an attacker hiding the newest entries would: the shorter chain is consistent. Returns the records' ids."""
    last = rows(
        engine,
        "SELECT seq, record_id FROM chain_link WHERE kind = :k AND chain_key = :c ORDER BY seq DESC",
        k=kind,
        c=key,
    )
    gone = [int(r[1]) for r in last[:n]]
    seq = int(last[n][0]) if len(last) > n else 0
    statements = [f"DELETE FROM {table} WHERE id = {i}" for i in gone]  # newest first (later ones cite earlier)
    statements += [
        "DELETE FROM chain_link WHERE kind = :k AND chain_key = :c AND seq > :s",
        "UPDATE chain_head SET seq = :s, head_hash = COALESCE((SELECT link_hash FROM chain_link "
        "WHERE kind = :k AND chain_key = :c AND seq = :s), :g) WHERE kind = :k AND chain_key = :c",
    ]
    tamper(engine, *statements, k=kind, c=key, s=seq, g="0" * 64)
    return gone
