"""Signed checkpoints of every chain head: what `audit verify` compares with to find a tail cut since.

A chain alone cannot show that its last links were dropped with their records and its head moved back: the
shorter chain is still consistent. A checkpoint pins, at one moment, the head of every chain. It is signed
with an ES256 key the deployment keeps outside the database (``EMHANA_CHECKPOINT_KEY``, a PEM file made by
``emhana audit checkpoint-key``), stored in ``chain_checkpoint`` and written to a file kept elsewhere
(``emhana audit checkpoint --out FILE``); :func:`scheduled` is the hook of the daily job.

What a checkpoint holds (the signed JSON payload of a flattened JWS, ``emhana.trust.lists.jws``):

* ``boundary``: the highest ``chain_link.id`` at that moment, read while no transaction was appending links
  (on PostgreSQL under a brief SHARE lock of ``chain_link``, which waits for the appending transactions to end;
  SQLite has one writer), so the links with an id up to it are exactly the links that existed then;
* for every kind, the number of chains and of links, and the chains' heads as of the boundary (per chain the
  link with the highest seq among those up to the boundary) folded into buckets: a chain's bucket is
  ``crc32(key) mod n`` and a bucket's digest is SHA-256 over ``key|seq|link_hash`` lines of its chains in key
  order (bytewise). ``n`` is a power of two, about four buckets per chain up to 16,384 per kind, so the file
  stays small at national scale (about 1.5 MB per kind) while a small register gets about one chain per
  bucket. A link hash commits to every link before it, so a bucket's digest commits to all its chains' links.

Verifying a checkpoint recomputes the same buckets from the links up to its boundary. A bucket with fewer
chains or links than the checkpoint names ``behind_checkpoint`` (links dropped, a chain cut or removed, a head
moved back); one with the same counts but another digest names ``rewritten_since_checkpoint``. A finding names
the chains now in the bucket: the one cut is among them (alone in it, in a small register). A checkpoint whose
signature does not verify with the pinned public key is ``checkpoint_signature``. Links appended after the
checkpoint are the next checkpoint's business: the schedule bounds what a cut can hide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection, Engine, func, insert, select, text

from emhana.audit.models import ChainCheckpoint, ChainHead, ChainLink
from emhana.kernel import clock
from emhana.kernel.errors import TrustListInvalid
from emhana.trust.chain.kinds import KINDS, table_of
from emhana.trust.lists import jws

log = logging.getLogger(__name__)

FORMAT = "emhana-chain-checkpoint/1"
TYP = "emhana-chain-checkpoint+jws"
MIN_BUCKETS, MAX_BUCKETS = 16, 16_384
STREAM = 10_000


def bucket_count(chains: int) -> int:
    """About four buckets per chain, a power of two between 16 and 16,384."""
    n = MIN_BUCKETS
    while n < 4 * chains and n < MAX_BUCKETS:
        n *= 2
    return n


def bucket_of(key: str, buckets: int) -> int:
    return zlib.crc32(key.encode()) & (buckets - 1)


@dataclass
class Bucket:
    """The chains of one bucket as of a boundary: how many, how many links, and their digest."""

    chains: int = 0
    links: int = 0
    digest: Any = None

    def add(self, key: str, seq: int, link_hash: str) -> None:
        if self.digest is None:
            self.digest = hashlib.sha256()
        self.chains += 1
        self.links += seq
        self.digest.update(f"{key}|{seq}|{link_hash}\n".encode())

    def entry(self) -> list[Any]:
        return [self.chains, self.links, self.digest.hexdigest() if self.digest is not None else ""]


def boundary(conn: Connection) -> int:
    """The highest link id, read while no transaction is appending links (see the module docstring).

    On PostgreSQL the SHARE lock waits for the transactions that appended links to end and is held until
    the caller's transaction ends: take it in a short transaction of its own."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE chain_link IN SHARE MODE"))
    links = table_of(ChainLink)
    return int(conn.scalar(select(func.coalesce(func.max(links.c.id), 0))) or 0)


def heads_as_of(conn: Connection, kind: str, upto: int) -> Iterator[tuple[str, int, str]]:
    """Yield (key, seq, link hash) of every chain of a kind as of a boundary, in bytewise key order."""
    links = table_of(ChainLink)
    last = (
        select(links.c.chain_key, func.max(links.c.seq).label("seq"))
        .where(links.c.kind == kind, links.c.id <= upto)
        .group_by(links.c.chain_key)
        .subquery()
    )
    key = last.c.chain_key.collate("C") if conn.dialect.name == "postgresql" else last.c.chain_key
    stmt = (
        select(last.c.chain_key, last.c.seq, links.c.link_hash)
        .join(links, (links.c.kind == kind) & (links.c.chain_key == last.c.chain_key) & (links.c.seq == last.c.seq))
        .order_by(key)
    )
    for row in conn.execute(stmt, execution_options={"stream_results": True, "yield_per": STREAM}):
        yield str(row[0]), int(row[1]), str(row[2])


def state(conn: Connection, upto: int, buckets: dict[str, int]) -> dict[str, dict[int, Bucket]]:
    """The buckets of every given kind as of a boundary."""
    out: dict[str, dict[int, Bucket]] = {}
    for kind, n in buckets.items():
        found: dict[int, Bucket] = {}
        for key, seq, link_hash in heads_as_of(conn, kind, upto):
            found.setdefault(bucket_of(key, n), Bucket()).add(key, seq, link_hash)
        out[kind] = found
    return out


def payload(conn: Connection, upto: int, now: dt.datetime) -> dict[str, Any]:
    """The checkpoint's content as of a boundary (what is signed)."""
    heads = table_of(ChainHead)
    counts = {str(k): int(n) for k, n in conn.execute(select(heads.c.kind, func.count()).group_by(heads.c.kind))}
    sizes = {kind: bucket_count(int(counts.get(kind, 0))) for kind in sorted(KINDS)}
    kinds: dict[str, Any] = {}
    for kind, found in state(conn, upto, sizes).items():
        kinds[kind] = {
            "chains": sum(b.chains for b in found.values()),
            "links": sum(b.links for b in found.values()),
            "buckets": sizes[kind],
            "digests": {str(i): b.entry() for i, b in sorted(found.items())},
        }
    return {"format": FORMAT, "taken_at": now.astimezone(dt.UTC).isoformat(), "boundary": upto, "kinds": kinds}


# --- keys --------------------------------------------------------------------------------------------------


def kid_of(key: ec.EllipticCurvePublicKey) -> str:
    """The first 8 bytes of SHA-256 over the key's SubjectPublicKeyInfo, in hex."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def new_key(out: Path) -> Path:
    """Write a new P-256 private key (PEM, PKCS#8, readable by its owner only) and its public key beside it
    (``<out>.pub.pem``); return the public key's path."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = out.with_name(out.name + ".pub.pem")
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return public


def load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path} is not a P-256 private key")
    return key


def load_public(path: Path) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a PEM file holding the public key, or the private key it belongs to."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return load_private(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path} is not a P-256 public key")
    return key


# --- taking and reading checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint: its stored id (None for a file), the JWS document and its payload."""

    id: int | None
    document: str
    content: dict[str, Any]

    @property
    def boundary(self) -> int:
        return int(self.content["boundary"])


def take(engine: Engine, key: ec.EllipticCurvePrivateKey, now: dt.datetime | None = None) -> Checkpoint:
    """Take, sign and store a checkpoint of every chain head."""
    with engine.begin() as conn:  # a short transaction: the SHARE lock ends with it
        upto = boundary(conn)
    moment = now or clock.now()
    with engine.begin() as conn:
        content = payload(conn, upto, moment)
        document = json.dumps(jws.sign(content, key, typ=TYP, kid=kid_of(key.public_key())), sort_keys=True)
        table = table_of(ChainCheckpoint)
        row_id = conn.execute(
            insert(table)
            .values(taken_at=moment, boundary=upto, kid=kid_of(key.public_key()), document=document)
            .returning(table.c.id)
        ).scalar_one()
    return Checkpoint(int(row_id), document, content)


def export(checkpoint: Checkpoint, out: Path) -> None:
    """Write the signed checkpoint to a file (to be kept outside the database)."""
    out.write_text(checkpoint.document + "\n", encoding="utf-8")


def read(document: str | bytes, key: ec.EllipticCurvePublicKey, checkpoint_id: int | None = None) -> Checkpoint:
    """Return a checkpoint after checking its ES256 signature with the pinned key; raise ValueError."""
    data = document.encode() if isinstance(document, str) else document
    try:
        content = jws.verify(data.strip(), key, typ=TYP, kind="checkpoint")
    except TrustListInvalid as exc:
        raise ValueError(str(exc.params.get("reason", "invalid"))) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT or not isinstance(content.get("kinds"), dict):
        raise ValueError("not a chain checkpoint")
    return Checkpoint(checkpoint_id, data.decode(), content)


def stored(conn: Connection) -> list[tuple[int, str]]:
    """The stored checkpoints as (id, document), oldest first."""
    table = table_of(ChainCheckpoint)
    return [(int(i), str(d)) for i, d in conn.execute(select(table.c.id, table.c.document).order_by(table.c.id))]


def scheduled(engine: Engine, key_file: str | Path | None = None, out_dir: Path | None = None) -> Checkpoint | None:
    """The daily job's hook: take a checkpoint with the deployment's key (``EMHANA_CHECKPOINT_KEY`` unless
    given) and, with ``out_dir``, write it there as ``checkpoint-<id>.json``. Without a key it logs and
    returns None."""
    if key_file is None:
        from emhana.kernel.config import get_settings

        key_file = get_settings().checkpoint_key
    if not key_file:
        log.warning("chain checkpoint skipped: EMHANA_CHECKPOINT_KEY is not set")
        return None
    checkpoint = take(engine, load_private(Path(key_file)))
    if out_dir is not None:
        export(checkpoint, out_dir / f"checkpoint-{checkpoint.id}.json")
    log.info("chain checkpoint %s taken at link %s", checkpoint.id, checkpoint.boundary)
    return checkpoint
