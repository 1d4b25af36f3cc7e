"""The Fund's page of the scheduled jobs (issue 16): each job's schedule, last run and failures, the latest
runs, and the outbox's backlog (emhana/jobs/status.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.jobs import status
from emhana.jobs.catalogue import BY_NAME, Job, Outcome
from emhana.jobs.runner import aware
from emhana.kernel import clock
from emhana.kernel.i18n import N_, translate
from emhana.notify.outbox import MAX_ATTEMPTS
from emhana.pages.oversight import local_time
from emhana.web.deps import SessionDep, require
from emhana.web.render import language, render

router = APIRouter(include_in_schema=False)

Fund = Annotated[Actor, require(Can.OVERSEE_JOBS)]

OUTCOMES = {
    Outcome.RUNNING.value: N_("Running"),
    Outcome.SUCCEEDED.value: N_("Succeeded"),
    Outcome.SKIPPED.value: N_("Skipped"),
    Outcome.FAILED.value: N_("Failed"),
}
OUTCOME_CLASS = {Outcome.SUCCEEDED.value: "state-approved", Outcome.FAILED.value: "status-excluded"}


def schedule_words(lang: str, job: Job) -> str:
    """A job's schedule in words."""
    if job.at is not None:
        return translate(lang, N_("Daily at {time}, Kazakhstan time"), {"time": job.at.strftime("%H:%M")})
    assert job.every is not None
    minutes = max(int(job.every.total_seconds()) // 60, 1)
    if minutes == 1:
        return translate(lang, N_("Every minute"))
    return translate(lang, N_("Every {minutes} minutes"), {"minutes": minutes})


@router.get("/oversight/jobs", response_class=HTMLResponse, dependencies=[require(Can.OVERSEE_JOBS)])
def jobs_page(request: Request, session: SessionDep, actor: Fund) -> HTMLResponse:
    """Each scheduled job's last run and failures, the latest runs and the outbox's backlog."""
    lang = language(request)
    return render(
        request,
        "oversight/jobs.html",
        actor=actor,
        jobs=status.statuses(session, now=clock.now()),
        runs=status.recent_runs(session),
        backlog=status.backlog(session),
        max_attempts=MAX_ATTEMPTS,
        when=lambda at: local_time(aware(at)) if at is not None else "—",
        outcome=lambda value: translate(lang, OUTCOMES.get(value, N_("Unknown"))),
        outcome_class=lambda value: OUTCOME_CLASS.get(value, ""),
        title=lambda name: translate(lang, BY_NAME[name].title) if name in BY_NAME else name,
        schedule=lambda job: schedule_words(lang, job),
    )
