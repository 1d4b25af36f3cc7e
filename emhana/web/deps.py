"""Dependencies that make route signatures read like prose: the session, the actor, the roles admitted."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from emhana.accounts.policy import unbound
from emhana.accounts.roles import Can, Role, roles_of
from emhana.accounts.service import TOKENS, Actor
from emhana.audit import readlog
from emhana.kernel import clock
from emhana.kernel.db import read_only_session, unit_of_work
from emhana.kernel.errors import Forbidden, NoOrganization, NotAuthenticated
from emhana.kernel.replicas import PRIMARY_WRITER, Replicas, client_key, lsn_value, replica_urls
from emhana.trust.chain import readlog as _chain_readlog  # noqa: F401  (registers the access log's writer)

SESSION_COOKIE = "emhana_session"


def get_session(request: Request) -> Iterator[Session]:
    """Open the request's unit of work: commit when the route succeeds, roll back on any error."""
    with unit_of_work(request.app.state.sessions) as session:
        yield session
    replicas = replicas_of(request) if request.method not in READ_METHODS else None
    if replicas is not None:  # read-your-writes (docs/replicas.md): in this process, and the WAL position after
        # the commit for the client to present to any process (emhana/web/replicas.py sends it)
        replicas.note_write(client_key(bearer_token(request), request.client.host if request.client else None))
        request.state.emhana_read_after = replicas.write_position()


# scope="function": commit before the response is sent, so a client that follows a redirect (or reads
# after a 201) always sees what the request wrote, and a failed commit is reported instead of hidden.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DATABASE_HEADER = "X-Emhana-Database"  # "primary" or "replica", only when read replicas are configured
READ_AFTER_HEADER = "X-Emhana-Read-After"  # the primary's WAL position after a write (docs/replicas.md)
READ_AFTER_COOKIE = "emhana_read_after"


def replicas_of(request: Request) -> Replicas | None:
    """Return the app's read-replica router, made on first use from its settings; None when none is configured."""
    state = request.app.state
    replicas: Replicas | None | bool = getattr(state, "replicas", False)
    if replicas is False:
        settings = getattr(state, "settings", None)
        urls = replica_urls(settings.database_replica_urls) if settings is not None else []
        with _REPLICAS_LOCK:
            replicas = getattr(state, "replicas", False)
            if replicas is False:
                replicas = state.replicas = (
                    Replicas(
                        state.engine,
                        urls,
                        max_lag=settings.replica_max_lag_seconds,
                        read_your_writes=settings.replica_read_your_writes_seconds,
                    )
                    if urls and settings is not None
                    else None
                )
    return replicas if isinstance(replicas, Replicas) else None


_REPLICAS_LOCK = threading.Lock()


def get_read_session(request: Request) -> Iterator[Session]:
    """Open a unit of work that only reads, on a read replica when one is configured, healthy and within the lag
    bound and the client has not just written (in this process, or as the WAL position it presents says); else
    exactly the request's unit of work (``get_session``). With replicas configured it is read-only wherever it
    runs; what a read must record first goes to the primary in a unit of work of its own (PRIMARY_WRITER)."""
    replicas = replicas_of(request)
    if replicas is None:
        yield from get_session(request)
        return
    client = client_key(bearer_token(request), request.client.host if request.client else None)
    after = lsn_value(request.headers.get(READ_AFTER_HEADER) or request.cookies.get(READ_AFTER_COOKIE))
    standby = replicas.choose(client, after=after)
    writer = partial(unit_of_work, request.app.state.sessions)
    if standby is not None:
        session = standby.sessions()  # bound to the standby's read-only engine
        try:
            session.connection()  # a standby that stopped since its last check: fail over at once
        except SQLAlchemyError:
            session.close()
            replicas.mark_down(standby)
            standby = None
        else:
            request.state.emhana_database = "replica"
            session.info[PRIMARY_WRITER] = writer
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
            return
    request.state.emhana_database = "primary"
    with unit_of_work(request.app.state.sessions, read_only=True) as session:
        session.info[PRIMARY_WRITER] = writer
        yield session


# Routes that only read (the public directory, the FHIR directory, the trust lists, the verifier, the public pages):
# a read replica may serve them (docs/replicas.md, "What is routed").
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


async def get_logged_read_session(request: Request) -> AsyncIterator[Session]:
    """Open a read-only unit of work on the primary for a read of personal data: its audit events go to the
    process's access log (``emhana.audit.readlog``), written with those of concurrent reads in one transaction
    before the answer is sent; a failure to write them fails the read (docs/access-log.md).

    The session is made on the event loop (no connection yet: the route's first statement takes one, in the
    route's thread); its end (commit or rollback, the connection given back, then the wait for the access log)
    runs in one worker thread, shielded from cancellation so that a client that goes away leaves no connection
    checked out. The same unit of work as ``kernel.db.unit_of_work(read_only=True)``, one thread hop fewer."""
    session = read_only_session(request.app.state.sessions)
    readlog.attach(session, request.app.state.engine)
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_roll_back, session)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_commit_logged, session)


def _roll_back(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def _commit_logged(session: Session) -> None:
    """End a logged read's unit of work, then hand its events to the access log and wait until they are durable
    (raises ReadLogFailed: the read is not answered)."""
    try:
        engine, rows = readlog.take(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    readlog.log_of(engine).append(rows)  # the read's connection is back in the pool while it waits


# Routes that read personal data and write nothing but its access log.
LoggedReadSessionDep = Annotated[Session, Depends(get_logged_read_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    """Return the bearer token of the Authorization header, or the session cookie's token."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


async def optional_actor(request: Request) -> Actor | None:
    """Return the authenticated actor, or None for an anonymous request (a bad token is an error).

    From the process's token cache on the event loop (no thread, no query), else looked up in a worker thread in a
    short read-only unit of work of its own, so a route that only reads holds no write transaction for it
    (docs/access-log.md, "Tokens")."""
    token = bearer_token(request)
    if token is None:
        return None
    now = clock.now()
    try:
        actor = TOKENS.cached(token=token, now=now)
        if actor is None:
            actor = await run_in_threadpool(
                partial(
                    TOKENS.actor,
                    sessions=partial(unit_of_work, request.app.state.sessions, read_only=True),
                    token=token,
                    now=now,
                )
            )
    except NotAuthenticated:
        if request.headers.get("authorization"):
            raise
        return None
    request.state.actor = actor
    return actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


def require(*capabilities: Can) -> Any:
    """Admit only the roles holding any of the capabilities (the matrix of emhana.accounts.roles), and of the
    roles that act for an organization only accounts bound to one (emhana.accounts.policy); the capabilities
    and the roles admitted are kept on the dependency for the access-control tests."""
    if not all(isinstance(c, Can) for c in capabilities):
        raise TypeError("require() takes capabilities (emhana.accounts.roles.Can), not roles")
    admitted = roles_of(*capabilities)
    if not admitted:
        raise ValueError("a route must admit at least one role")

    # Who am I and signing out stay open to an unbound account, so it can learn what is wrong with it.
    needs_organization = capabilities != (Can.USE_ACCOUNT,)

    async def dependency(actor: OptionalActor) -> Actor:  # no thread of its own: it only compares
        if actor is None:
            raise NotAuthenticated()
        if actor.role not in admitted:
            raise Forbidden()
        if needs_organization and unbound(actor):
            raise NoOrganization()
        return actor

    dependency.emhana_roles = admitted  # type: ignore[attr-defined]
    dependency.emhana_capabilities = frozenset(capabilities)  # type: ignore[attr-defined]
    return Depends(dependency)


def public() -> Any:
    """Declare a route open to everyone, anonymous included."""

    async def dependency() -> None:
        return None

    dependency.emhana_roles = "public"  # type: ignore[attr-defined]
    return Depends(dependency)


def declared_roles(endpoint_dependencies: list[Any]) -> frozenset[Role] | str | None:
    """Return what a route declares: a set of roles, "public", or None when it declares nothing."""
    for dep in endpoint_dependencies:
        call: Callable[..., Any] | None = getattr(dep, "call", None)
        roles = getattr(call, "emhana_roles", None)
        if roles is not None:
            return roles  # type: ignore[no-any-return]
        found = declared_roles(getattr(dep, "dependencies", []))
        if found is not None:
            return found
    return None


def iter_routes(app: Any) -> Iterator[tuple[str, set[str], Any]]:
    """Yield (path, methods, dependant) of every API route, through included routers too."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        items = list(contexts()) if contexts is not None else [route]
        for item in items:
            dependant = getattr(item, "dependant", None)
            methods = getattr(item, "methods", None)
            if dependant is not None and methods:
                yield str(item.path), set(methods), dependant
