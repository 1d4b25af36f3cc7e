"""A demo seeded and served as `emhana demo` does, with the banner a vendor copies its commands from (issue 17):
the fixture body, the banner's printed commands and running them as a person would."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository: examples/ is run from it
POPULATION = 500  # the same code path as `make demo`'s 10,000, smaller


@dataclass(frozen=True)
class Demo:
    base: str
    day: dt.date
    banner: list[str]


def serve_demo(folder: Path, name: str, population: int = POPULATION) -> Iterator[Demo]:
    """Seed and serve a demo exactly as `emhana demo` does, on its own clock, in ``folder``."""
    from emhana.app import create_app
    from emhana.devtools.demo import banner, demo_day, seed, server_settings, start_clock
    from emhana.devtools.generator import run_with_progress
    from tests.builders.servers import serve

    url = f"sqlite:///{folder / 'emhana.db'}"
    day = demo_day(url)
    seed(url, population=population, seed_value=1, generate=run_with_progress, today=day)
    with start_clock(day):
        with serve(create_app(server_settings(url)), name) as base:
            yield Demo(base, day, banner(url, base, day))


def printed_command(demo: Demo, route: str) -> list[str]:
    """The banner's push command of a route, as a person copies it; the repository's interpreter stands for
    `.venv/bin/python` when the tests run from another environment."""
    found = [line for line in demo.banner if line.strip().startswith(f"push {route}")]
    assert len(found) == 1, "\n".join(demo.banner)
    argv = shlex.split(found[0].split(": ", 1)[1])
    assert argv[:2] == [".venv/bin/python", "examples/mis_client.py"], argv
    if not (ROOT / argv[0]).exists():
        argv[0] = sys.executable
    return argv


def run(argv: list[str]) -> tuple[int, Any]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT)
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        return done.returncode, {"stdout": done.stdout, "stderr": done.stderr[-3000:]}
