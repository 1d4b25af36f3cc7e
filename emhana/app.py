"""The app factory: composes the domain routers, pages, problem+json and language negotiation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from emhana import __version__
from emhana import models as tables  # noqa: F401  (every table, chain and listener registered)
from emhana.accounts.service import LocalAuthenticator
from emhana.kernel import logsafe
from emhana.kernel.config import Settings, get_settings
from emhana.kernel.db import PING_AFTER_IDLE_SECONDS, make_engine, make_sessionmaker, normalize_url
from emhana.kernel.replicas import Replicas
from emhana.web import apidocs, hosts, problems, reads, routing, security
from emhana.web import replicas as replica_headers
from emhana.web.language import LanguageMiddleware
from emhana.web.render import install_error_pages

STATIC = Path(__file__).parent / "web" / "static"
# Connections each worker keeps to PostgreSQL (SQLAlchemy's default is 5): each request served at once holds one
# (sync routes run in a pool of 40 threads), and a connection past the pool's size is opened for one request and
# closed after it, a new server process each time: costlier than the read it serves. 16 kept, up to 40 in all.
POOL_SIZE, POOL_OVERFLOW = 16, 24


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At shutdown, close the read replicas' connections (docs/replicas.md), those of the reads served on the
    event loop (web/reads.py) and the primary's pooled connections: none is left for the garbage collector to find
    still open (an application may start again: a disposed engine opens new connections when next used)."""
    yield
    await reads.close(app)
    replicas = getattr(app.state, "replicas", None)
    if isinstance(replicas, Replicas):
        replicas.dispose()
    app.state.engine.dispose()


def is_postgres_url(url: str) -> bool:
    return normalize_url(url).startswith("postgresql")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application for the configured database."""
    logsafe.install()  # no IIN in any log line, uvicorn's access log included, whatever a client puts in a URL
    if settings is None:  # started from the environment (emhana serve, uvicorn --factory)
        settings = get_settings()
        security.require_secret_key(settings)
    app = FastAPI(
        title="emhana",
        version=__version__,
        description="Open national registry for Kazakhstan's primary health care.",
        docs_url=None,  # served by web/apidocs.py from the installed package, not a CDN
        redoc_url=None,
        lifespan=_lifespan,
    )
    # On PostgreSQL: the kept pool, and a connection pinged before use only after a second idle (kernel/db.py): a
    # busy worker's connections come back within milliseconds, and a ping per checkout was a round trip per request.
    pool: dict[str, Any] = (
        {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "ping_after_idle": PING_AFTER_IDLE_SECONDS}
        if is_postgres_url(settings.database_url)
        else {}
    )
    engine = make_engine(settings.database_url, **pool)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.authenticator = LocalAuthenticator(allow_demo=settings.demo_mode)

    app.add_middleware(LanguageMiddleware, settings=settings)  # plain ASGI (web/language.py)

    if settings.database_replica_urls.strip():
        replica_headers.install(app, settings)  # docs/replicas.md
    problems.install(app)
    install_error_pages(app)

    from emhana.api.accounts import router as auth_router
    from emhana.api.admin_accounts import router as accounts_router
    from emhana.api.attachment.campaign import router as attachment_router
    from emhana.api.attachment.places import router as near_places_router
    from emhana.api.audit import router as audit_router
    from emhana.api.clients import router as clients_router
    from emhana.api.facilities import router as facilities_router
    from emhana.api.fhir import install as install_fhir
    from emhana.api.health import router as health_router
    from emhana.api.identity import router as identity_router
    from emhana.api.medbook import router as medbook_router
    from emhana.api.medbook_infections import router as medbook_infections_router
    from emhana.api.medbook_jobs import router as medbook_jobs_router
    from emhana.api.notify import router as notify_router
    from emhana.api.oauth import router as oauth_router
    from emhana.api.participants import router as participants_router
    from emhana.api.reference import router as reference_router
    from emhana.api.seals import public_router as trust_public_router
    from emhana.api.seals import router as trust_router
    from emhana.api.signatures import router as signatures_router
    from emhana.pages.accounts import router as accounts_pages
    from emhana.pages.attachment.citizen import router as attachment_pages
    from emhana.pages.catalogue import router as catalogue_pages
    from emhana.pages.clients import router as clients_pages
    from emhana.pages.eds import router as eds_pages
    from emhana.pages.entities_fund import router as entities_fund_pages
    from emhana.pages.entity_sites import router as entity_sites_pages
    from emhana.pages.home import router as pages_router
    from emhana.pages.inbox import router as inbox_pages
    from emhana.pages.infections import router as infections_pages
    from emhana.pages.jobs import router as jobs_pages
    from emhana.pages.language import router as language_pages
    from emhana.pages.medbook import router as medbook_pages
    from emhana.pages.medbook_jobs import router as medbook_jobs_pages
    from emhana.pages.medbook_sign import router as medbook_sign_pages
    from emhana.pages.oversight import router as oversight_pages
    from emhana.pages.participants import router as participants_pages
    from emhana.pages.referrals import router as referrals_pages
    from emhana.pages.representation import router as representation_pages
    from emhana.pages.verify import router as trust_pages

    for router in (
        auth_router,
        facilities_router,
        identity_router,
        reference_router,
        attachment_router,
        notify_router,
        medbook_router,
        medbook_infections_router,
        medbook_jobs_router,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(health_router, prefix="/api/v1")
    app.include_router(accounts_router, prefix="/api/v1")
    app.include_router(clients_router, prefix="/api/v1")
    app.include_router(audit_router, prefix="/api/v1")
    app.include_router(signatures_router, prefix="/api/v1")
    app.include_router(pages_router)
    app.include_router(accounts_pages)
    app.include_router(clients_pages)
    app.include_router(language_pages)
    app.include_router(attachment_pages)
    app.include_router(entity_sites_pages)
    app.include_router(near_places_router, prefix="/api/v1")
    app.include_router(medbook_pages)
    app.include_router(catalogue_pages)
    app.include_router(infections_pages)
    app.include_router(medbook_sign_pages)
    app.include_router(eds_pages)
    app.include_router(medbook_jobs_pages)
    app.include_router(referrals_pages)
    app.include_router(oversight_pages)
    app.include_router(inbox_pages)
    app.include_router(representation_pages)
    app.include_router(jobs_pages)
    app.include_router(entities_fund_pages)
    app.include_router(participants_pages)
    app.include_router(participants_router, prefix="/api/v1")
    app.include_router(trust_router, prefix="/api/v1")
    app.include_router(trust_public_router)
    app.include_router(trust_pages)
    app.include_router(oauth_router)  # SMART token endpoint and discovery (before the FHIR door's routes)
    install_fhir(app)  # /fhir/R4 and /api/v1/interop
    apidocs.install(app)  # /docs and /redoc, their files under /static/apidocs (before /static)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    security.install(app, settings)
    hosts.install(app, settings)  # outermost: a foreign Host is refused first (EMHANA_TRUSTED_HOSTS)
    routing.install(app)  # each request asks only the routers its path can reach (web/routing.py)
    return app
