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

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response

from emhana.kernel.config import Settings
from emhana.web.deps import DATABASE_HEADER, READ_AFTER_COOKIE, READ_AFTER_HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ReplicaHeadersMiddleware:
    """Add which database answered and, after a write, the read-after position and cookie (plain ASGI: the
    request's dependencies leave them on its state before the answer starts)."""

    def __init__(self, app: ASGIApp, *, window: int) -> None:
        self.app = app
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                database = state.get("emhana_database")
                after = state.get("emhana_read_after")
                if database is not None or after is not None:
                    response = Response()
                    response.raw_headers[:] = list(message.get("headers", ()))
                    if database is not None:
                        response.headers[DATABASE_HEADER] = database
                    if after is not None:
                        response.headers[READ_AFTER_HEADER] = after
                        cookie = after.replace("/", "-")  # a cookie value without quotes
                        response.set_cookie(
                            READ_AFTER_COOKIE, cookie, max_age=self.window, httponly=True, samesite="lax"
                        )
                    message["headers"] = response.raw_headers
            await send(message)

        await self.app(scope, receive, send_with_position)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the replica headers and the read-after cookie to the app's responses."""
    window = max(1, round(settings.replica_read_your_writes_seconds))
    app.add_middleware(ReplicaHeadersMiddleware, window=window)
