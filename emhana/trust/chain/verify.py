"""Recompute every hash chain and name each row that was changed, removed, inserted or reordered.

Findings name the table, the row id, the chain kind and key (internal ids only, never an IIN):

* ``changed``      — the record's fields no longer hash to its link (an open link, or the latest end link of
  an attachment);
* ``removed``      — a link points at a record that is gone;
* ``unchained``    — a record has no link: inserted behind the application's back;
* ``moved``        — the record now sits under another chain key than its link (e.g. another book);
* ``link_altered`` — a link's own hash does not recompute;
* ``reordered``    — a link does not follow the link before it (positions swapped, or a link dropped);
* ``gap``          — a position of the chain is missing;
* ``head_mismatch``— the chain's head does not name its last link.

Given signed checkpoints (``emhana.trust.chain.checkpoint``), it also names what a consistent but shorter chain
hides: ``behind_checkpoint`` (links, a chain or a head's position lost since the checkpoint: a tail cut),
``rewritten_since_checkpoint`` (the links the checkpoint pinned were replaced) and ``checkpoint_signature``
(a checkpoint that does not verify with the pinned key: forged or edited).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from emhana.audit.models import ChainHead, ChainLink
from emhana.trust.chain import checkpoint as cp
from emhana.trust.chain.kinds import END, GENESIS, KINDS, OPEN, ChainKind, is_open, link_hash, record_hash, table_of

BATCH = 5_000


@dataclass(frozen=True)
class Finding:
    """One problem found in a chain."""

    problem: str
    kind: str
    table: str
    record_id: int | None
    chain_key: str
    seq: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.detail:  # only checkpoint findings carry one
            del out["detail"]
        return out

    def __str__(self) -> str:
        where = f"{self.table} id={self.record_id}" if self.record_id is not None else self.table
        seq = f" seq={self.seq}" if self.seq is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.problem}: {where} ({self.kind} chain {self.chain_key}{seq}){detail}"


@dataclass
class Report:
    """The findings of one verification, and how much was checked."""

    findings: list[Finding]
    links: int
    records: int
    chains: int
    checkpoints: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "links": self.links,
            "records": self.records,
            "chains": self.chains,
            "checkpoints": self.checkpoints,
            "findings": [f.as_dict() for f in self.findings],
        }


def _stream(conn: Connection, stmt: Any) -> Iterator[Row[Any]]:
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
    yield from result


def _check_links(
    conn: Connection, kind: ChainKind, findings: list[Finding]
) -> tuple[dict[int, list[Row[Any]]], dict[str, Row[Any]], int]:
    """Walk every chain of a kind in seq order; return links by record id, last link by key, and a count."""
    links = table_of(ChainLink)
    by_record: dict[int, list[Row[Any]]] = defaultdict(list)
    last: dict[str, Row[Any]] = {}
    count = 0
    for link in _stream(conn, select(links).where(links.c.kind == kind.name).order_by(links.c.chain_key, links.c.seq)):
        count += 1
        rid, key = int(link.record_id), link.chain_key
        prev = last.get(key)
        expected_seq = 1 if prev is None else int(prev.seq) + 1
        expected_prev = GENESIS if prev is None else prev.link_hash
        if int(link.seq) != expected_seq:
            findings.append(Finding("gap", kind.name, kind.table.name, None, key, expected_seq))
        if link.link_hash != link_hash(
            kind=kind.name,
            key=key,
            record_id=rid,
            event_=link.event,
            rec_hash=link.record_hash,
            prev_hash=link.prev_hash,
        ):
            findings.append(Finding("link_altered", kind.name, kind.table.name, rid, key, int(link.seq)))
        elif link.prev_hash != expected_prev:
            findings.append(Finding("reordered", kind.name, kind.table.name, rid, key, int(link.seq)))
        by_record[rid].append(link)
        last[key] = link
    return by_record, last, count


def _check_heads(conn: Connection, kind: ChainKind, last: dict[str, Row[Any]], findings: list[Finding]) -> None:
    heads = table_of(ChainHead)
    seen = set()
    for head in conn.execute(select(heads).where(heads.c.kind == kind.name)):
        seen.add(head.chain_key)
        link = last.get(head.chain_key)
        if (link is None and int(head.seq) != 0) or (
            link is not None and (int(head.seq) != int(link.seq) or head.head_hash != link.link_hash)
        ):
            findings.append(Finding("head_mismatch", kind.name, kind.table.name, None, head.chain_key, int(head.seq)))
    for key in sorted(set(last) - seen):
        findings.append(Finding("head_mismatch", kind.name, kind.table.name, None, key, None))


def _check_records(
    conn: Connection, kind: ChainKind, by_record: dict[int, list[Row[Any]]], findings: list[Finding]
) -> int:
    count = 0
    for row in _stream(conn, select(*kind.columns).order_by(kind.table.c.id)):
        count += 1
        r: dict[str, Any] = dict(row._mapping)
        rid, key = int(r["id"]), kind.key_of(r)
        links = by_record.pop(rid, [])
        opens = [x for x in links if x.event == OPEN]
        ends = [x for x in links if x.event == END]
        if not opens:
            findings.append(Finding("unchained", kind.name, kind.table.name, rid, key))
            continue
        link = opens[0]
        if link.chain_key != key:
            findings.append(Finding("moved", kind.name, kind.table.name, rid, link.chain_key, int(link.seq)))
        if kind.mutable:  # the latest link, open or update, holds the row as it must be now
            newest = max(links, key=lambda x: int(x.seq))
            changed = newest.record_hash != record_hash(kind, r, newest.event)
        else:
            changed = link.record_hash != record_hash(kind, r, OPEN)
        if kind.end_fields:
            latest = max(ends, key=lambda x: int(x.seq)) if ends else None
            if latest is None:
                changed = changed or not is_open(kind, r)
            else:
                changed = changed or latest.record_hash != record_hash(kind, r, END)
        if changed:
            findings.append(Finding("changed", kind.name, kind.table.name, rid, link.chain_key, int(link.seq)))
    for rid, links in sorted(by_record.items()):
        findings.append(Finding("removed", kind.name, kind.table.name, rid, links[0].chain_key, int(links[0].seq)))
    return count


def verify(
    conn: Connection, kinds: list[str] | None = None, checkpoints: Sequence[cp.Checkpoint | CheckpointFault] = ()
) -> Report:
    """Check every chain (or those of the given kinds) against the rows, then against each checkpoint (or the
    fault found reading it); see the module docstring."""
    findings: list[Finding] = []
    links = records = 0
    chains = 0
    for name in kinds or list(KINDS):
        kind = KINDS[name]
        by_record, last, n = _check_links(conn, kind, findings)
        links += n
        chains += len(last)
        _check_heads(conn, kind, last, findings)
        records += _check_records(conn, kind, by_record, findings)
    for checkpoint in checkpoints:
        if isinstance(checkpoint, CheckpointFault):
            findings.append(
                Finding(
                    "checkpoint_signature",
                    "checkpoint",
                    "chain_checkpoint",
                    checkpoint.id,
                    checkpoint.source,
                    None,
                    checkpoint.reason,
                )
            )
        else:
            findings.extend(check_checkpoint(conn, checkpoint, kinds))
    return Report(findings=findings, links=links, records=records, chains=chains, checkpoints=len(checkpoints))


@dataclass(frozen=True)
class CheckpointFault:
    """A checkpoint that could not be read: its stored id or file, and why (its signature does not verify)."""

    id: int | None
    source: str
    reason: str


def check_checkpoint(conn: Connection, checkpoint: cp.Checkpoint, kinds: list[str] | None = None) -> list[Finding]:
    """Compare the chains as of a checkpoint's boundary with what it pinned (see the module docstring)."""
    pinned: dict[str, Any] = checkpoint.content["kinds"]
    names = [k for k in (kinds or sorted(set(pinned) | set(KINDS))) if k in pinned]
    sizes = {k: int(pinned[k]["buckets"]) for k in names}
    now = cp.state(conn, checkpoint.boundary, sizes)
    where = f"checkpoint {checkpoint.id}" if checkpoint.id is not None else "checkpoint file"
    findings: list[Finding] = []
    for name in names:
        table = KINDS[name].table.name if name in KINDS else name
        then = {int(i): e for i, e in pinned[name]["digests"].items()}
        for bucket in sorted(set(then) | set(now[name])):
            was = then.get(bucket, [0, 0, ""])
            found = now[name][bucket].entry() if bucket in now[name] else [0, 0, ""]
            if list(was) == found:
                continue
            behind = found[0] < was[0] or found[1] < was[1]
            keys = _keys_in(conn, name, checkpoint.boundary, sizes[name], bucket)
            findings.append(
                Finding(
                    "behind_checkpoint" if behind else "rewritten_since_checkpoint",
                    name,
                    table,
                    None,
                    ",".join(keys) if keys else "?",
                    None,
                    f"{where} pinned {was[0]} chains with {was[1]} links here, now {found[0]} with {found[1]}",
                )
            )
    return findings


def _keys_in(conn: Connection, kind: str, upto: int, buckets: int, bucket: int, most: int = 20) -> list[str]:
    """The chains now in a bucket, by their links or their heads (the one cut or rewritten is among them)."""
    heads = table_of(ChainHead)
    known = {k for k, _, _ in cp.heads_as_of(conn, kind, upto)}
    known |= {str(k) for k in conn.scalars(select(heads.c.chain_key).where(heads.c.kind == kind))}
    keys = sorted((k for k in known if cp.bucket_of(k, buckets) == bucket), key=lambda k: (len(k), k))
    return keys[:most] + (["…"] if len(keys) > most else [])
