"""The one place that knows which `websockets` version is installed.

Debian 12 ships websockets 10.4 (the legacy client: ``extra_headers``, ``InvalidStatusCode``);
websockets 14+ has the new asyncio client (``additional_headers``, ``InvalidStatus``). Both are
driven through the calls below, which exist in both.
"""

from __future__ import annotations

import ssl as _ssl
from typing import Any, Awaitable, Callable

import websockets
import websockets.exceptions

# Looked up by name: websockets exports these lazily, which type checkers do not follow.
WEBSOCKETS_MAJOR = int(str(getattr(websockets, "__version__")).split(".")[0])
_connect: Callable[..., Awaitable[Any]] = getattr(websockets, "connect")

ConnectionClosed = websockets.exceptions.ConnectionClosed
InvalidHandshake = websockets.exceptions.InvalidHandshake


async def open_connection(
    url: str,
    headers: dict[str, str],
    *,
    ssl: _ssl.SSLContext | None,
    max_size: int,
    open_timeout: float,
) -> Any:
    """Opens the WebSocket; raises OSError, TimeoutError or InvalidHandshake on failure."""
    kwargs: dict[str, Any] = {
        "max_size": max_size,
        "open_timeout": open_timeout,
        "close_timeout": 2,
        # The gateway pings every WS_PING_INTERVAL_S and the library answers by itself; the client's
        # own pings detect a dead network on its side within ~40 s.
        "ping_interval": 20,
        "ping_timeout": 20,
    }
    if ssl is not None:
        kwargs["ssl"] = ssl
    if headers:
        kwargs["additional_headers" if WEBSOCKETS_MAJOR >= 14 else "extra_headers"] = headers
    return await _connect(url, **kwargs)


def close_info(ws: Any) -> tuple[int | None, str]:
    """The close code and reason of a finished connection (1006 and "" when it just dropped)."""
    code = getattr(ws, "close_code", None)
    reason = getattr(ws, "close_reason", None)
    return (code if isinstance(code, int) else None, reason if isinstance(reason, str) else "")


def handshake_status(error: BaseException) -> int | None:
    """The HTTP status of a refused upgrade, when there was one."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
