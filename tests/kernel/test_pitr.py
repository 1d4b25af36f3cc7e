"""Point-in-time recovery (docs/topology.md, "Backups, WAL archive and point-in-time recovery"): on a cluster of
the test's own that archives its WAL to a folder, a base backup taken before the schema existed, replayed from the
archive up to a noted moment, gives back exactly what was committed before that moment, with the emhana schema the
migrations made after the backup, and hash chains that verify clean."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import Engine, text

import emhana.models  # noqa: F401 - every table and chain kind registered, as in the app
from emhana.kernel.db import make_engine, make_sessionmaker
from emhana.kernel.migrate import upgrade
from tests.builders.chain import check
from tests.builders.people import add_person
from tests.builders.pitr import archive_everything, archive_to, base_backup, restored
from tests.builders.postgres_cluster import own_cluster
from tests.builders.replicas import query


def _people(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(int(r[0]), str(r[1])) for r in conn.execute(text("SELECT id, iin FROM person ORDER BY id"))]


def _add(engine: Engine, first_day: int, count: int) -> None:
    sessions = make_sessionmaker(engine)
    for day in range(first_day, first_day + count):
        add_person(sessions, born=dt.date(1980, 1, day))  # one transaction each, chained at commit


def test_a_base_backup_and_the_wal_archive_restore_exactly_what_was_committed_before_the_moment() -> None:
    with own_cluster() as primary:
        archive = primary.folder / "archive"
        archive_to(primary, archive)
        backup = base_backup(primary, primary.folder / "backup")  # before the schema: it comes from the archive

        upgrade(primary.url)
        engine = make_engine(primary.url)
        try:
            _add(engine, 1, 5)
            before = _people(engine)
            time.sleep(0.01)  # not a timing assertion: the moment falls strictly between two commits
            moment = str(query(primary, "SELECT clock_timestamp()::text"))
            time.sleep(0.01)
            _add(engine, 6, 4)
            everything = _people(engine)
        finally:
            engine.dispose()
        assert len(before) == 5 and len(everything) == 9
        archive_everything(primary)  # the rows after the moment are in the archive too: recovery must stop short

        with restored(backup, archive, moment) as copy:
            restored_engine = make_engine(copy.url)
            try:
                assert _people(restored_engine) == before
                with restored_engine.connect() as conn:
                    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                    links = conn.execute(text("SELECT count(*) FROM chain_link WHERE kind = 'person'")).scalar_one()
                assert version == query(primary, "SELECT version_num FROM alembic_version")
                assert links == len(before)
                report = check(restored_engine)
                assert report.clean, report.findings
                assert report.records >= len(before)
            finally:
                restored_engine.dispose()
            assert "recovery stopping before commit" in copy.log()
