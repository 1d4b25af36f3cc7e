"""The command line, composed from the domains: demo, serve, db, generate, import, export, iin, capitation,
pki, verify, accounts, clients, worker."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emhana import models as tables  # noqa: F401  (every table, chain and listener registered)
from emhana.cli import audit as audit_cli
from emhana.cli import trust as trust_keys_cli
from emhana.cli import verify as trust_cli
from emhana.cli.accounts import app as accounts_app
from emhana.cli.capitation import app as capitation_app
from emhana.cli.clients import app as clients_app
from emhana.cli.medbook import app as medbook_app
from emhana.cli.notify import app as notify_app
from emhana.cli.sign import app as sign_app
from emhana.cli.worker import worker as worker_command
from emhana.devtools.bench.cli import app as bench_app
from emhana.kernel import clock
from emhana.kernel.config import get_settings, use_settings

app = typer.Typer(
    help="emhana — the open national registry for Kazakhstan's primary health care.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import reference lists.", no_args_is_help=True)
export_app = typer.Typer(help="Export published lists.", no_args_is_help=True)
iin_app = typer.Typer(help="IIN tools.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(iin_app, name="iin")
app.add_typer(capitation_app, name="capitation")
app.add_typer(trust_cli.pki_app, name="pki")
app.add_typer(trust_keys_cli.app, name="trust")
app.add_typer(notify_app, name="notify")
app.add_typer(sign_app, name="sign")
app.add_typer(medbook_app, name="medbook")
app.command("verify")(trust_cli.verify_command)
app.add_typer(bench_app, name="bench")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(accounts_app, name="accounts")
app.add_typer(clients_app, name="clients")
app.command("backup")(audit_cli.backup_command)
app.command("restore")(audit_cli.restore_command)
app.command("worker")(worker_command)

console = Console()
err = Console(stderr=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]


def _url(url: str | None) -> str:
    return url or get_settings().database_url


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file of the demo.")] = Path("emhana.db"),
    population: Annotated[int, typer.Option(min=100)] = 10_000,
    seed: Annotated[int, typer.Option()] = 1,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server.")] = True,
    worker_: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run the scheduled jobs beside the server.")
    ] = True,
    today: Annotated[
        dt.datetime | None,
        typer.Option(
            "--today",
            formats=["%Y-%m-%d"],
            help="The demo clock's day (it runs from 10:00 that day); default: inside an open campaign period.",
        ),
    ] = None,
) -> None:
    """Create the demo database (SQLite), seed it with a synthetic country and start the server (with the
    scheduled jobs of `emhana worker` in a thread beside it)."""
    from emhana.devtools.demo import DEMO_PASSWORD, banner, demo_day, start_clock
    from emhana.devtools.demo import seed as seed_demo
    from emhana.devtools.generator import run_with_progress

    url = f"sqlite:///{db.resolve()}"
    day = today.date() if today is not None else demo_day(url)
    began = time.perf_counter()
    logins = seed_demo(url, population=population, seed_value=seed, generate=run_with_progress, today=day)
    seeded = time.perf_counter() - began
    base = f"http://{host}:{port}"
    console.print(f"\n[bold]emhana demo[/bold] — database {db.resolve()}")
    for label, path in (
        ("Home", "/"),
        ("Facility directory", "/facilities"),
        ("API docs", "/docs"),
        ("OpenAPI", "/openapi.json"),
    ):
        console.print(f"  {label:<20} {base}{path}")
    table = Table(title=f"Demo logins (password: {DEMO_PASSWORD}; demo mode only)")
    table.add_column("username")
    table.add_column("role")
    table.add_column("name")
    for login in logins:
        table.add_row(login.username, login.role.value, login.display_name)
    console.print(table)
    from emhana.devtools.demo import signing_help

    for line in signing_help(url):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for line in [*banner(url, base, day), f"Seeded in {seeded:.1f} s"]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    start_clock(day)  # the server's clock: standing on the demo day, ticking from now
    if serve_:
        import uvicorn

        from emhana.app import create_app
        from emhana.devtools.demo import server_settings
        from emhana.web.security import UVICORN_OPTIONS

        settings = server_settings(url)  # the demo database, demo mode, and the demo PKI trusted too
        use_settings(settings)  # also what code without the app (get_settings()) reads in this process
        from emhana.jobs.scheduler import Scheduler, start_background
        from emhana.kernel.db import make_engine

        jobs_engine = make_engine(url)
        jobs = start_background(Scheduler(jobs_engine, settings)) if worker_ else None
        try:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info", **UVICORN_OPTIONS)
        finally:
            if jobs is not None:
                jobs.stop()
            jobs_engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Start the web server (uvicorn) for EMHANA_DATABASE_URL."""
    import uvicorn

    from emhana.web.security import UVICORN_OPTIONS  # forwarded headers: only from EMHANA_TRUSTED_PROXIES

    uvicorn.run(
        "emhana.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **UVICORN_OPTIONS,
    )


@db_app.command("upgrade")
def db_upgrade(database_url: DbUrl = None, revision: str = "head") -> None:
    """Apply the migrations (and load the KATO classifier and regions)."""
    from emhana.kernel.migrate import upgrade

    upgrade(_url(database_url), revision)
    console.print(f"database at revision {revision}")


@app.command()
def generate(
    population: Annotated[int, typer.Option(min=1)] = 10_000,
    seed: Annotated[int, typer.Option()] = 1,
    database_url: DbUrl = None,
) -> None:
    """Generate a synthetic country, deterministic by seed (COPY on PostgreSQL)."""
    from emhana.kernel.migrate import upgrade

    url = _url(database_url)
    upgrade(url)
    from emhana.devtools.generator import run_with_progress

    stats = run_with_progress(url, population, seed)
    console.print(stats)
    console.print("Generated rows were linked into their hash chains as they were written (`emhana audit verify`).")


@import_app.command("facilities")
def import_facilities(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], database_url: DbUrl = None
) -> None:
    """Import healthcare entities from CSV or JSON: all or nothing, every bad row listed."""
    from emhana.facilities import io, service
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.kernel.i18n import translate

    engine = make_engine(_url(database_url))
    try:  # dispose of the engine on the error exit too, so no pooled connection is left open
        with unit_of_work(make_sessionmaker(engine)) as s:
            data = file.read_bytes()
            reader = io.read_json if file.suffix.lower() == ".json" else io.read_csv
            records, errors = reader(data, service.known_kato(s))
            if errors:
                for e in errors:
                    err.print(
                        f"line {e.line}: {e.field + ': ' if e.field else ''}{translate('en', e.template, e.params)}"
                    )
                err.print(f"{len(errors)} bad rows; nothing was written")
                raise typer.Exit(1)
            result = service.apply_records(session=s, actor=None, records=records)
    finally:
        engine.dispose()
    console.print(result)


@export_app.command("facilities")
def export_facilities(
    format: Annotated[str, typer.Option(help="csv or json")] = "csv",
    out: Annotated[Path | None, typer.Option(help="File; standard output if absent")] = None,
    database_url: DbUrl = None,
) -> None:
    """Export the published list of participating entities."""
    from emhana.facilities import io, service
    from emhana.kernel.db import make_engine, make_sessionmaker

    if format not in ("csv", "json"):
        raise typer.BadParameter("format must be csv or json")
    engine = make_engine(_url(database_url))
    with make_sessionmaker(engine)() as s:
        records = service.published_records(session=s, day=clock.today())
    engine.dispose()
    text = (
        io.write_csv(records) if format == "csv" else json.dumps(io.to_json_obj(records), ensure_ascii=False, indent=2)
    )
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@iin_app.command("check")
def iin_check(iins: Annotated[list[str], typer.Argument(help="IINs to check")]) -> None:
    """Print each IIN with valid/invalid and the reason; exit 0 only if all are valid."""
    from emhana.identity.rules import iin_problem

    bad = 0
    for value in iins:
        problem = iin_problem(value.strip())
        if problem is None:
            sys.stdout.write(f"{value}\tvalid\n")
        else:
            bad += 1
            sys.stdout.write(f"{value}\tinvalid\t{problem}\n")
    raise typer.Exit(1 if bad else 0)


def main() -> None:
    from emhana.kernel import logsafe

    logsafe.install()  # no IIN in any log line of any command (the server's app installs it too)
    app()


if __name__ == "__main__":
    main()
