"""The application the benchmark's server runs: emhana.app's, standing on the clock EMHANA_BENCH_CLOCK names.

`uvicorn emhana.devtools.bench.serve:create_app --factory` with EMHANA_BENCH_CLOCK set to an ISO instant runs the
real application on a clock that starts at that instant and ticks from then on (the campaign-peak profile stands on
a day inside the campaign window, whatever the machine's date); unset, it is emhana.app.create_app as it is.
"""

from __future__ import annotations

import datetime as dt
import os

from fastapi import FastAPI

CLOCK_VARIABLE = "EMHANA_BENCH_CLOCK"


def create_app() -> FastAPI:
    from emhana.app import create_app as create
    from emhana.devtools.demo_clock import Ticking
    from emhana.kernel import clock

    at = os.environ.get(CLOCK_VARIABLE)
    if at:
        clock.use(Ticking(dt.datetime.fromisoformat(at)))  # for the rest of the process (this worker)
    return create()
