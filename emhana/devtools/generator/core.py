"""Generate a national synthetic population into a migrated database, streaming in bounded batches."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from emhana.devtools.generator.attach import Attacher, AttachmentRow, AttachStats, Network, People
from emhana.devtools.generator.layer import LayerCounts, write_layer
from emhana.devtools.generator.names import name_book
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.generator.people import (
    AddressRow,
    IinCounter,
    LineBatch,
    PersonFactory,
    PersonRow,
    PhoneRow,
)
from emhana.devtools.generator.plan import Plan, make_plan
from emhana.devtools.generator.sink import (
    BackgroundSink,
    Batch,
    PersonSink,
    bulk_attachment_lines,
    has_person_fields,
    moment,
    open_sink,
    reserve_ids,
    used_serials,
)
from emhana.kernel.db import is_postgres

log = logging.getLogger(__name__)

# progress(phase, done, total): phases "plan", "facilities", "persons".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenerateStats:
    """What one run wrote and how long each part took."""

    population: int
    seed: int
    facilities_written: bool
    entities: int
    sites: int
    districts: int
    practitioners: int
    persons: int
    addresses: int
    phones: int
    first_person_id: int
    plan_seconds: float
    facility_seconds: float
    person_seconds: float
    analyze_seconds: float = 0.0
    attachments: int = 0  # persons attached (issue 3, item 10), at most one each
    attached_by_choice: int = 0  # ... to a site further than the nearest one with a free place
    attached_outside_unit: int = 0  # ... outside their unit because it had no free place
    unattached: int = 0  # no free place of a fitting profile anywhere

    @property
    def person_rows(self) -> int:
        """Rows of person, person_address, person_phone and attachment."""
        return self.persons + self.addresses + self.phones + self.attachments

    @property
    def rows_per_second(self) -> float:
        return self.person_rows / self.person_seconds if self.person_seconds > 0 else 0.0


def generate(
    engine: Engine,
    *,
    population: int,
    seed: int,
    progress: Progress | None = None,
    batch: int = 10_000,
    params: GeneratorParams | None = None,
    facilities: bool | None = None,
    facility_population: int | None = None,
    writers: int = 2,
    attach: bool = True,
    bulk: bool = False,
) -> GenerateStats:
    """Write a synthetic facility layer and `population` persons (one address, one phone each), each
    attached as the campaign would attach them (see emhana.devtools.generator.attach; `attach=False`: none).

    Same seed, population and parameters give the same rows on an empty database. The database must
    be migrated (emhana.kernel.migrate.upgrade). On a database that already holds data, ids continue after
    the existing ones and IIN serials after those already used for each date and sex, so nothing
    collides; `facilities=None` writes the facility layer only when no entity exists yet.
    `facility_population` sizes the facility layer for another population (e.g. the national one
    under a small demo population). Memory stays bounded: persons are written `batch` at a time.
    On PostgreSQL `writers` connections COPY batches while the next ones are generated (0: no thread).
    Each batch commits on its own: a failure leaves the batches already written (their ids reserved).
    `bulk=True` (PostgreSQL; the benchmarks' national load) writes all persons in one transaction instead, the
    secondary indexes and foreign keys of the loaded tables built again at its end (sink.BackgroundSink,
    emhana.devtools.generator.deferred): all or nothing, and the loaded tables stay locked until it commits; the
    rows are generated and attached in a forked process while this one hashes their chain links and COPYs
    (``_write_forked``: the same rows, in the same order), in COPY layouts that leave out the values every row
    shares (``sink.bulk_fixed``).
    """
    if population < 0 or batch < 1 or writers < 0:
        raise ValueError("population must be >= 0, batch >= 1 and writers >= 0")
    params = params or GeneratorParams()
    report = progress or (lambda _phase, _done, _total: None)
    t0 = time.perf_counter()
    report("plan", 0, 1)
    plan = make_plan(seed, population, params, facility_population)
    report("plan", 1, 1)
    t1 = time.perf_counter()
    with engine.begin() as conn:
        iins = IinCounter(used_serials(conn))
        has_entities = conn.scalar(text("SELECT 1 FROM entity LIMIT 1")) is not None
    write_facilities = (not has_entities) if facilities is None else facilities
    counts = LayerCounts(0, 0, 0, 0)
    if write_facilities:
        report("facilities", 0, 1)
        with engine.begin() as conn:
            counts = write_layer(conn, plan, seed, params, iins)
        report("facilities", 1, 1)
    t2 = time.perf_counter()
    first, attached = write_persons(engine, plan, seed, params, iins, population, batch, report, writers, attach, bulk)
    t3 = time.perf_counter()
    analyze(engine, write_facilities)
    t4 = time.perf_counter()
    stats = GenerateStats(
        population=population,
        seed=seed,
        facilities_written=write_facilities,
        entities=counts.entities,
        sites=counts.sites,
        districts=counts.districts,
        practitioners=counts.practitioners,
        persons=population,
        addresses=population,
        phones=population,
        first_person_id=first,
        plan_seconds=t1 - t0,
        facility_seconds=t2 - t1,
        person_seconds=t3 - t2,
        analyze_seconds=t4 - t3,
        attachments=attached.attached,
        attached_by_choice=attached.by_choice,
        attached_outside_unit=attached.outside_unit,
        unattached=attached.unattached,
    )
    if attached.unattached or attached.outside_unit:
        log.warning(
            "%s persons attached outside their unit, %s not attached: no free place of a fitting profile",
            attached.outside_unit,
            attached.unattached,
        )
    log.info(
        "generated %s persons (%.0f rows/s) and %s sites in %.1f s",
        population,
        stats.rows_per_second,
        counts.sites,
        t4 - t0,
    )
    return stats


def write_persons(
    engine: Engine,
    plan: Plan,
    seed: int,
    params: GeneratorParams,
    iins: IinCounter,
    population: int,
    batch: int,
    report: Progress,
    writers: int = 2,
    attach: bool = True,
    bulk: bool = False,
) -> tuple[int, AttachStats]:
    """Stream the planned persons, attached, into the database; return the first person id and what
    the attachment did. Each batch's attachments are written in the same transaction as its persons."""
    with engine.begin() as conn:
        ids = tuple(reserve_ids(conn, t, population) for t in ("person", "person_address", "person_phone"))
        first_attachment = reserve_ids(conn, "attachment", population if attach else 0)
        attacher = (
            Attacher(
                Network.load(conn, params.as_of),
                seed,
                params.as_of,
                first_attachment,
                params.choice_share,
                params.choice_ranks,
            )
            if attach
            else None
        )
    factory = PersonFactory(seed, params, name_book(), iins)
    first_ids = (ids[0], ids[1], ids[2])
    if bulk and is_postgres(engine) and "fork" in mp.get_all_start_methods():
        stats = _write_forked(engine, _generated_lines(plan, factory, first_ids, batch), report, population, attacher)
    else:
        _write(
            open_sink(engine, writers, bulk), _batches(plan, factory, attacher, first_ids, batch), report, population
        )
        stats = attacher.stats if attacher is not None else None
    return ids[0], stats if stats is not None else AttachStats(unattached=population)


Rows = tuple[list[PersonRow], list[AddressRow], list[PhoneRow], list[AttachmentRow]]


Spans = list[tuple[int, int]]
Generated = tuple[list[PersonRow], list[AddressRow], list[PhoneRow], Spans]


def _generated(plan: Plan, factory: PersonFactory, ids: tuple[int, int, int], batch: int) -> Iterator[Generated]:
    """Generate the planned persons in batches of ``batch`` (the last one smaller), ids from ``ids``; each batch
    with the spans (start, end) of its persons that live in the catchment of one site: those ``_attach`` attaches
    together."""
    pid, aid, tid = ids
    persons: list[PersonRow] = []
    addresses: list[AddressRow] = []
    phones: list[PhoneRow] = []
    spans: Spans = []
    done = 0
    for site in plan.sites():
        left = site.persons
        while left > 0:
            n = min(left, batch - len(persons))
            start = len(persons)
            factory.fill(
                site, n, (pid + done + start, aid + done + start, tid + done + start), persons, addresses, phones
            )
            spans.append((start, len(persons)))
            left -= n
            if len(persons) >= batch:
                yield persons, addresses, phones, spans
                done += len(persons)
                persons, addresses, phones, spans = [], [], [], []
    if persons:
        yield persons, addresses, phones, spans


def _attach(
    attacher: Attacher | None, persons: list[PersonRow], addresses: list[AddressRow], spans: Spans
) -> list[AttachmentRow]:
    """The attachments of a generated batch, span by span (the draws and the places taken depend on the spans)."""
    attachments: list[AttachmentRow] = []
    if attacher is not None:
        people = People.of_rows(persons, addresses)
        for start, end in spans:
            attacher.attach_people(people, start, attachments, end)
    return attachments


def _batches(
    plan: Plan, factory: PersonFactory, attacher: Attacher | None, ids: tuple[int, int, int], batch: int
) -> Iterator[Rows]:
    """Generate the planned persons, attached, in batches of ``batch`` (the last one smaller), ids from ``ids``."""
    for persons, addresses, phones, spans in _generated(plan, factory, ids, batch):
        yield persons, addresses, phones, _attach(attacher, persons, addresses, spans)


def _write(sink: PersonSink, batches: Iterator[Rows], report: Progress, population: int) -> None:
    """Write the batches generated here (each batch's attachments in the same transaction as its persons)."""
    done = 0
    report("persons", 0, population)
    try:
        for persons, addresses, phones, attachments in batches:
            sink.write(persons, addresses, phones, attachments)
            done += len(persons)
            report("persons", done, population)
    except BaseException:
        sink.abort()
        raise
    sink.close()


def _send(out: Any, header: tuple[Any, ...], texts: Batch) -> None:
    out.send(header)
    for data in texts:
        out.send_bytes(data)


Lines = Iterator[tuple[LineBatch, Spans]]


def _generated_lines(plan: Plan, factory: PersonFactory, ids: tuple[int, int, int], batch: int) -> Lines:
    """``_generated`` as COPY text lines (``PersonFactory.fill_lines``): the same persons in the same batches and
    spans."""
    pid, aid, tid = ids
    lines = LineBatch()
    spans: Spans = []
    done = 0
    for site in plan.sites():
        left = site.persons
        while left > 0:
            n = min(left, batch - len(lines))
            start = len(lines)
            factory.fill_lines(site, n, (pid + done + start, aid + done + start, tid + done + start), lines)
            spans.append((start, len(lines)))
            left -= n
            if len(lines) >= batch:
                yield lines, spans
                done += len(lines)
                lines, spans = LineBatch(), []
    if lines:
        yield lines, spans


def _attached(
    attacher: Attacher | None, people: People, spans: Spans, sexes: list[str], births: list[str], person_fields: bool
) -> bytes:
    """The COPY text (bulk layout) of the attachments of a batch of persons given by position, span by span as
    ``_attach`` attaches them."""
    if attacher is None:
        return b""
    attachments: list[AttachmentRow] = []
    for start, end in spans:
        attacher.attach_people(people, start, attachments, end)
    first = people.pids[0] if people.pids else 0

    def person(pid: int) -> tuple[str, str]:
        return sexes[pid - first], births[pid - first]

    return bulk_attachment_lines(attachments, person if person_fields else None).encode()


def _people(first: int, lines: LineBatch) -> People:
    """The persons of a batch of lines (ids from ``first``) as the attacher reads them; coordinates as the address
    lines have them (``float`` of that text is the generated value)."""
    n = len(lines)
    return People(
        list(range(first, first + n)),
        lines.born,
        lines.categories,
        lines.katos,
        np.fromiter(map(float, lines.lats), dtype=float, count=n),
        np.fromiter(map(float, lines.lons), dtype=float, count=n),
    )


def _generate(out: Any, generated: Lines, others: list[Any], attacher: Attacher | None, person_fields: bool) -> None:
    """The generating process: generate each batch as COPY text (bulk layouts), attach it, and send the text of
    its persons, addresses, phones and attachments (each as bytes of its own); then what the attachment did."""
    for other in others:
        other.close()
    try:
        for lines, spans in generated:
            first = int(lines.persons[0].split("\t", 1)[0])
            attached = _attached(attacher, _people(first, lines), spans, lines.sexes, lines.births, person_fields)
            texts = ("".join(lines.persons), "".join(lines.addresses), "".join(lines.phones))
            _send(out, ("batch", len(lines), 4), (*(t.encode() for t in texts), attached))
        out.send(("done", attacher.stats if attacher is not None else None))
    except BaseException as exc:  # noqa: BLE001 - passed on to the loading process, which raises it
        out.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def _write_forked(
    engine: Engine, generated: Lines, report: Progress, population: int, attacher: Attacher | None
) -> AttachStats | None:
    """Generate and attach in a forked process while this one hashes the chains and COPYs (the bulk load on
    PostgreSQL).

    Python runs one thread at a time: generating, attaching, formatting and hashing a person cost more than
    PostgreSQL spends storing it, so on one process the load waits on Python. The forked process generates the
    persons, addresses and phones straight as COPY text in the bulk layouts (the same sequence: it starts from
    this process's state, and nothing else draws from it), attaches them (the attacher's own draws, in the same
    spans and order as ``_batches``) and formats the attachments; this one takes the hashed values back out of
    the text, hashes the chain links (``sink.chain_text``) and COPYs. Only bytes cross between the processes:
    no row is pickled. (Attaching in a third process, between these two, was measured no faster on the two
    cores of the benchmark machine: it adds a hand-over of what the attacher reads of each person.)
    """
    at = moment()
    with engine.connect() as conn:
        person_fields = has_person_fields(conn.connection.driver_connection)
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_generate,
        args=(send, generated, [receive], attacher, person_fields),
        name="emhana-generator",
        daemon=True,
    )
    child.start()
    send.close()
    stats: AttachStats | None = None
    done = 0
    try:
        sink = BackgroundSink(engine, 1, bulk=True, at=at)
        if sink.person_fields != person_fields:
            raise RuntimeError("the attachment table changed while the load began")
    except BaseException:
        _stop(child)
        raise
    report("persons", 0, population)
    try:
        while True:
            try:
                message = receive.recv()
                if message[0] == "batch":
                    texts = tuple(receive.recv_bytes() for _ in range(message[2]))
            except EOFError:
                raise RuntimeError("the generating process ended without its last batch") from None
            if message[0] == "batch":
                sink.write_texts(texts)
                done += message[1]
                report("persons", done, population)
            elif message[0] == "done":
                stats = message[1]
                break
            else:
                raise RuntimeError(f"the generating process failed: {message[1]}")
    except BaseException:
        _stop(child)
        sink.abort()
        raise
    finally:
        receive.close()
    child.join()
    sink.close()
    return stats


def _stop(*children: Any) -> None:
    """End the forked processes (ours) and wait for them."""
    for child in children:
        if child.is_alive():
            child.terminate()
    for child in children:
        child.join()


def analyze(engine: Engine, facilities: bool) -> None:
    """Refresh the planner's statistics of the bulk-loaded tables (PostgreSQL).

    Right after a load the tables have none, and the planner takes them for empty: the nearest-site
    query, for one, then probes every entity instead of using the site coordinates.
    """
    if not is_postgres(engine):
        return
    tables = ["person", "person_address", "person_phone", "attachment"]
    if facilities:
        tables += ["entity", "licence", "inclusion", "site", "district", "practitioner", "post"]
    with engine.connect() as conn:
        conn.execute(text("ANALYZE " + ", ".join(tables)))
        conn.commit()
