"""What the read replicas add to responses (docs/replicas.md), installed only when replicas are configured.

* ``X-Emhana-Database: replica`` or ``primary`` on the routes that only read (``ReadSessionDep``): which database
  answered;
* on a write's response, the primary's WAL position after its commit, as the ``X-Emhana-Read-After`` header and
  the ``emhana_read_after`` cookie (for ``replica_read_your_writes_seconds``). The client's next reads present
  it (the browser sends the cookie; an API client may send the header) and are served by a standby only once
  that standby has replayed up to it, whichever process serves them: read-your-writes with no shared state.

The position is not a secret and is trusted for nothing but routing: a client that forges one only sends its
own reads to the primary (a higher one) or to a standby within the lag bound (a lower one), as if it had not
written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from emhana.kernel.config import Settings
from emhana.web.deps import DATABASE_HEADER, READ_AFTER_COOKIE, READ_AFTER_HEADER


def install(app: FastAPI, settings: Settings) -> None:
    """Add the replica headers and the read-after cookie to the app's responses."""
    window = max(1, round(settings.replica_read_your_writes_seconds))

    @app.middleware("http")
    async def _replica_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        database = getattr(request.state, "emhana_database", None)
        if database is not None:
            response.headers[DATABASE_HEADER] = database
        after = getattr(request.state, "emhana_read_after", None)
        if after is not None:
            response.headers[READ_AFTER_HEADER] = after
            cookie = after.replace("/", "-")  # a cookie value without quotes
            response.set_cookie(READ_AFTER_COOKIE, cookie, max_age=window, httponly=True, samesite="lax")
        return response
