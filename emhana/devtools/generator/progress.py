"""Run the generator against a database URL with a rich progress display (for the CLI)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from emhana.devtools.generator.core import GenerateStats, generate
from emhana.devtools.generator.params import GeneratorParams
from emhana.kernel.db import make_engine

LABELS = {
    "plan": "Planning the facility layer",
    "facilities": "Writing entities, sites, districts",
    "persons": "Writing persons",
}


def run_with_progress(
    url: str,
    population: int,
    seed: int,
    *,
    batch: int = 10_000,
    params: GeneratorParams | None = None,
    facilities: bool | None = None,
    facility_population: int | None = None,
    writers: int = 2,
    console: Console | None = None,
) -> GenerateStats:
    """Generate into the (migrated) database at `url`, drawing one progress bar per phase."""
    engine = make_engine(url)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            tasks: dict[str, TaskID] = {}

            def update(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(LABELS.get(phase, phase), total=total)
                bar.update(tasks[phase], completed=done, total=total)

            stats = generate(
                engine,
                population=population,
                seed=seed,
                progress=update,
                batch=batch,
                params=params,
                facilities=facilities,
                facility_population=facility_population,
                writers=writers,
            )
        (console or bar.console).print(summary(stats))
        return stats
    finally:
        engine.dispose()


def summary(stats: GenerateStats) -> str:
    """One line about what was written."""
    layer = (
        f"{stats.entities:,} entities, {stats.sites:,} sites, {stats.districts:,} districts, "
        f"{stats.practitioners:,} doctors; "
        if stats.facilities_written
        else "facility layer kept; "
    )
    return (
        f"{layer}{stats.persons:,} persons with addresses and phones, {stats.attachments:,} attached "
        f"({stats.attached_by_choice:,} by choice further away, {stats.attached_outside_unit:,} outside "
        f"their unit, {stats.unattached:,} without a free place) in {stats.person_seconds:.1f} s "
        f"({stats.rows_per_second:,.0f} rows/s)"
    )
