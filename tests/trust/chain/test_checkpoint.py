"""Signed checkpoints of the chain heads: what they pin, that later work leaves them intact, where they are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from emhana.trust.chain import checkpoint as cp
from emhana.trust.chain.verify import verify
from emhana.trust.lists import jws
from tests.builders.chain import rows
from tests.builders.medbook import World, journal, record

KEY = ec.generate_private_key(ec.SECP256R1())


def test_bucket_counts_grow_with_the_chains_within_bounds() -> None:
    assert [cp.bucket_count(n) for n in (0, 1, 4, 5, 1000, 10**8)] == [16, 16, 16, 32, 4096, 16_384]
    assert all(0 <= cp.bucket_of(str(k), 64) < 64 for k in range(1000))


def test_a_checkpoint_pins_every_kind_and_later_work_keeps_it_clean(
    client: TestClient, world: World, engine: Engine
) -> None:
    book, _ = journal(client, world, 2)
    taken = cp.take(engine, KEY)
    kinds = taken.content["kinds"]
    assert kinds["medbook"]["chains"] == 1 and kinds["medbook"]["links"] == 2
    assert taken.boundary == rows(engine, "SELECT max(id) FROM chain_link")[0][0]
    assert sum(k["links"] for k in kinds.values()) == rows(engine, "SELECT count(*) FROM chain_link")[0][0]
    assert rows(engine, "SELECT boundary, kid FROM chain_checkpoint")[0] == (
        taken.boundary,
        cp.kid_of(KEY.public_key()),
    )
    # the application keeps writing: links after the boundary are not the checkpoint's business
    assert record(client, world, book, "specialist_exam", "gynecologist", "normal").status_code == 201
    with engine.connect() as conn:
        report = verify(conn, checkpoints=[cp.read(taken.document, KEY.public_key(), taken.id)])
    assert report.clean, report.findings


def test_stored_checkpoints_are_append_only(client: TestClient, world: World, engine: Engine) -> None:
    journal(client, world, 1)
    cp.take(engine, KEY)
    for sql in ("UPDATE chain_checkpoint SET boundary = 0", "DELETE FROM chain_checkpoint"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))


def test_only_a_checkpoint_signed_with_the_pinned_key_is_read() -> None:
    other = jws.sign({"format": "something else", "kinds": {}}, KEY, typ=cp.TYP, kid="x")
    with pytest.raises(ValueError, match="not a chain checkpoint"):
        cp.read(json.dumps(other), KEY.public_key())
    wrong_type = jws.sign({"format": cp.FORMAT, "kinds": {}}, KEY, typ="trust-list+jws", kid="x")
    with pytest.raises(ValueError, match="typ"):
        cp.read(json.dumps(wrong_type), KEY.public_key())


def test_the_daily_hook_needs_a_key_and_writes_the_file_outside(
    client: TestClient, world: World, engine: Engine, tmp_path: Path
) -> None:
    journal(client, world, 1)
    assert cp.scheduled(engine, key_file="") is None
    key = tmp_path / "checkpoint.pem"
    public = cp.new_key(key)
    assert key.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        cp.new_key(key)  # never overwritten
    out = tmp_path / "kept"
    out.mkdir()
    taken = cp.scheduled(engine, key_file=key, out_dir=out)
    assert taken is not None
    written = out / f"checkpoint-{taken.id}.json"
    assert cp.read(written.read_text(), cp.load_public(public)).content == taken.content
