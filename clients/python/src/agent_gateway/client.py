"""``GatewayClient``: an agent on the gateway's plain WebSocket protocol (contract §4 and §12)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import itertools
import logging
import ssl as _ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Literal, Sequence, TypeVar, Union
from urllib.parse import urlsplit

from . import _transport
from .backoff import full_jitter_delay
from .errors import EXPIRED_CLOSE_CODE, TERMINAL_CONNECT_CODES, GatewayError, is_terminal_close_code
from .tracing import TraceArgument, message_context, trace_context, with_trace
from .frames import FrameError, Message, TopicMessage, connect_url, content_parts, encode_frame, parse_frame, parse_timestamp, utc_now

log = logging.getLogger("agent_gateway")

#: A credential: an API token (``agt_…``) or IdP access token, or a callable (sync or async)
#: returning a fresh one; it is called before every connect and for every ``refresh``.
TokenSource = Union[str, Callable[[], Union[str, Awaitable[str]]], None]
#: A direct-message handler, sync (run in a thread) or async; its return value is the result.
MessageHandler = Callable[[Message], Any]
#: A topic handler, sync (run in a thread) or async; its return value is ignored.
TopicHandler = Callable[[TopicMessage], Any]
ClientState = Literal["idle", "connecting", "ready", "closed"]
F = TypeVar("F", bound=Callable[..., Any])

#: ``timeout_ms`` bounds of the gateway (docs/protocol.md).
_MAX_TIMEOUT_MS = 3_600_000


@dataclass(frozen=True)
class DisconnectInfo:
    """Why a connection ended, passed to ``on_disconnected``."""

    #: The disconnect reason (``server_shutdown``, ``revoked``, ``heartbeat_timeout``…), else the
    #: close reason, else ``connection_lost``.
    reason: str
    #: The gateway's message, when it sent ``session_closed``.
    message: str
    #: The WebSocket close code (4400–4499 terminal, 4500–4599 retried, 1006 dropped).
    code: int | None
    #: Whether the client will reconnect by itself.
    reconnect: bool


class GatewayClient:
    """An agent connected to agent-gateway over its plain WebSocket transport.

    It keeps the seed's client shape, sends heartbeats at the interval the gateway asks for,
    reconnects with exponential backoff and full jitter (never after a terminal close code,
    4400–4499), renews its topic subscriptions after a reconnect and refreshes an expiring
    credential when ``token`` is a callable. Handlers run as tasks, at most
    ``max_concurrent_handlers`` at once, so a slow handler never holds up heartbeats or other frames.

    Example::

        client = GatewayClient(gateway_url="ws://localhost:8700", agent_id="my-agent-001",
                               agent_name="My Agent", capabilities=["search"], token="agt_…")

        @client.on_message
        async def handle(message):
            return {"answer": 42}

        await client.connect()
        answer = await client.request("other-agent", "hello", timeout=10)
        await client.close()

    :param gateway_url: the agent plane, ``ws://``/``wss://`` (or ``http://``/``https://``); the
        ``/gateway/connect`` path is added when missing.
    :param agent_id: the agent this client is; it must be the one the credential is bound to.
    :param agent_name: display name for this session (default: the registered name).
    :param capabilities: a subset of the agent's registered capabilities.
    :param token: a str, or a callable (sync or async) returning one, called before every
        connect and refresh. Omit it with mTLS or the ``none`` method.
    :param auto_reconnect: reconnect after a non-terminal disconnect, and retry the first
        connect while the gateway is unreachable.
    :param reconnect_interval: the backoff's first ceiling in seconds; the n-th retry waits
        ``uniform(0, min(max_reconnect_interval, reconnect_interval * 2**n))``.
    :param max_reconnect_interval: the backoff's largest ceiling in seconds.
    :param max_reconnect_attempts: give up after this many consecutive failed attempts (default never).
    :param ack_timeout: how long to wait for the gateway's ``ack`` of a frame, in seconds.
    :param request_timeout: the default ``timeout`` of :meth:`request`, in seconds.
    :param max_concurrent_handlers: how many message and topic handlers run at once; more
        messages wait, in arrival order.
    :param ssl: an ``ssl.SSLContext`` for ``wss://`` (own CA, client certificate…).
    :param cert_file: client certificate (PEM) for mTLS; with ``key_file``.
    :param key_file: the client certificate's key (PEM).
    :param ca_file: CA bundle (PEM) that signed the gateway's certificate.
    :param token_in_query: send the token as the ``token`` query parameter instead of the
        ``Authorization`` header (for proxies that drop headers; it may land in access logs).
    :param max_frame_bytes: the largest frame accepted from the gateway.
    :param handle_cancel: called with the conversation id when the gateway cancels a
        conversation (``cancel`` frame); the handler task of it is cancelled first.
    """

    def __init__(
        self,
        gateway_url: str,
        agent_id: str,
        agent_name: str | None = None,
        capabilities: Sequence[str] | None = None,
        *,
        token: TokenSource = None,
        auto_reconnect: bool = True,
        reconnect_interval: float = 5.0,
        max_reconnect_interval: float = 60.0,
        max_reconnect_attempts: int | None = None,
        ack_timeout: float = 15.0,
        request_timeout: float = 30.0,
        max_concurrent_handlers: int = 64,
        ssl: _ssl.SSLContext | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        ca_file: str | None = None,
        token_in_query: bool = False,
        max_frame_bytes: int = 16 * 1024 * 1024,
        handle_cancel: Callable[[str], Any] | None = None,
        on_connecting: Callable[[int], Any] | None = None,
        on_connected: Callable[[dict[str, Any]], Any] | None = None,
        on_disconnected: Callable[[str, DisconnectInfo], Any] | None = None,
        on_reconnecting: Callable[[int, float], Any] | None = None,
    ) -> None:
        if max_concurrent_handlers < 1:
            raise ValueError("max_concurrent_handlers must be >= 1")
        if reconnect_interval < 0 or max_reconnect_interval < 0:
            raise ValueError("reconnect intervals must be >= 0")
        self.gateway_url = gateway_url
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.capabilities = list(capabilities) if capabilities is not None else None
        self.auto_reconnect = auto_reconnect
        self.reconnect_interval = float(reconnect_interval)
        self.max_reconnect_interval = float(max_reconnect_interval)
        self.max_reconnect_attempts = max_reconnect_attempts
        self.ack_timeout = float(ack_timeout)
        self.request_timeout = float(request_timeout)
        self.max_frame_bytes = max_frame_bytes
        #: Called with the conversation id of a ``cancel`` frame (sync or async). Assignable.
        self.handle_cancel = handle_cancel
        self._token_source = token
        self._token_in_query = token_in_query
        # Validates the URL now rather than at the first connect.
        self._url_scheme = urlsplit(connect_url(gateway_url, agent_id)).scheme
        self._ssl = _ssl_context(ssl, cert_file, key_file, ca_file)
        if self._ssl is not None and self._url_scheme != "wss":
            raise ValueError("TLS options need a wss:// (or https://) gateway_url")
        self._hooks: dict[str, Callable[..., Any] | None] = {
            "connecting": on_connecting,
            "connected": on_connected,
            "disconnected": on_disconnected,
            "reconnecting": on_reconnecting,
        }
        self._message_handler: MessageHandler | None = None
        self._topics: dict[str, TopicHandler | None] = {}
        self._state: ClientState = "idle"
        self._ws: Any = None
        self._session: dict[str, Any] | None = None
        self._session_closed: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._requests: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._handler_tasks: dict[str, set[asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(max_concurrent_handlers)
        self._supervisor: asyncio.Task[None] | None = None
        self._establishing: asyncio.Task[tuple[Any, dict[str, Any]]] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._max_handlers = max_concurrent_handlers
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._closing = False
        self._closed = asyncio.Event()
        self._last_error: GatewayError | None = None
        #: Heartbeats the gateway acknowledged on the current connection, and when the last was.
        self.heartbeats_acked = 0
        self.last_heartbeat_ack: float | None = None

    # --- state -----------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def connected(self) -> bool:
        """True while a session is open (frames can be sent)."""
        return self._state == "ready"

    @property
    def session(self) -> dict[str, Any] | None:
        """The current ``session`` frame (``session_id``, ``agent``, ``heartbeat_interval_s``, ``expires_at``…)."""
        return self._session

    @property
    def last_error(self) -> GatewayError | None:
        """The refusal that made the client give up, if that is why it is closed."""
        return self._last_error

    # --- registration (decorators) ---------------------------------------------------------

    def on_message(self, handler: F) -> F:
        """Sets the handler of direct messages (decorator). It gets a :class:`Message`.

        When the sender expects a result, the return value becomes a ``result`` with
        ``success: true``; an exception becomes ``success: false`` with
        ``{"code": "AGENT_ERROR", "message": str(error)}``. Async handlers run as tasks; sync
        ones in a worker thread.
        """
        self._message_handler = handler
        return handler

    def on_connecting(self, hook: F) -> F:
        """``hook(attempt)`` before each connection attempt (decorator)."""
        self._hooks["connecting"] = hook
        return hook

    def on_connected(self, hook: F) -> F:
        """``hook(session)`` once a session is open and the topics are subscribed again (decorator)."""
        self._hooks["connected"] = hook
        return hook

    def on_disconnected(self, hook: F) -> F:
        """``hook(reason, info)`` when a connection ends; ``info`` is a :class:`DisconnectInfo` (decorator)."""
        self._hooks["disconnected"] = hook
        return hook

    def on_reconnecting(self, hook: F) -> F:
        """``hook(attempt, delay_s)`` when a reconnect is scheduled (decorator)."""
        self._hooks["reconnecting"] = hook
        return hook

    def on_cancel(self, hook: F) -> F:
        """Sets :attr:`handle_cancel` (decorator)."""
        self.handle_cancel = hook
        return hook

    # --- lifecycle -------------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Connects and returns the ``session`` frame once the session is open.

        Raises :class:`GatewayError` when the gateway refuses for good (``UNAUTHORIZED``,
        ``FORBIDDEN``, ``INVALID_MESSAGE``: a terminal close code, never retried), or when
        ``auto_reconnect`` is off (or ``max_reconnect_attempts`` is reached) and it cannot connect.
        """
        if self._state == "ready" and self._session is not None:
            return self._session
        if self._ready is not None and not self._ready.done():
            # A connect (or a reconnect after a lost connection) is under way: wait for it rather
            # than open a second connection that would replace the first.
            return await asyncio.shield(self._ready)
        self._closing = False
        self._closed.clear()
        self._last_error = None
        self._state = "connecting"
        self._ready = asyncio.get_running_loop().create_future()
        self._establishing = asyncio.ensure_future(self._establish(0))
        try:
            ws, session = await self._establishing
        except BaseException as error:
            self._state = "closed"
            self._closed.set()
            if isinstance(error, asyncio.CancelledError) and self._closing:
                error = GatewayError("UNAVAILABLE", "client closed while connecting")
            if isinstance(error, GatewayError):
                self._last_error = error
                _fail(self._ready, error)  # a concurrent connect() gets the same error
            elif not self._ready.done():
                self._ready.cancel()
            if error is not self._last_error:
                raise
            raise error from None
        finally:
            self._establishing = None
        self._supervisor = asyncio.create_task(self._supervise(ws, session))
        return await asyncio.shield(self._ready)

    async def close(self) -> None:
        """Closes for good: no reconnect; running handlers are cancelled, pending calls fail ``UNAVAILABLE``."""
        self._closing = True
        current = asyncio.current_task()
        supervisor = self._supervisor
        ws = self._ws
        if ws is not None:
            try:
                await ws.close(1000, "client closed")
            except Exception:  # noqa: BLE001 - the connection may already be gone
                pass
        for task in (self._establishing, supervisor):
            if task is not None and task is not current and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._fail_requests(GatewayError("UNAVAILABLE", "client closed"))
        _fail(self._ready, GatewayError("UNAVAILABLE", "client closed"))
        if self._executor is not None:
            # Threads of sync handlers cannot be interrupted; they finish on their own.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._state = "closed"
        self._closed.set()

    async def wait_closed(self) -> None:
        """Returns when the client is closed for good (:meth:`close`, a terminal disconnect, or
        reconnection given up: see :attr:`last_error`)."""
        await self._closed.wait()

    async def __aenter__(self) -> "GatewayClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- agent plane -----------------------------------------------------------------------

    async def send(
        self,
        to: str,
        content: Any,
        *,
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        trace: TraceArgument = None,
    ) -> dict[str, Any]:
        """Sends a direct message; returns the ack (``message_id``, ``conversation_id``, ``status``, ``timestamp``).

        ``content``: a str is a text part, a dict (or any other JSON) a data part, a list the parts
        themselves. ``trace``: a W3C ``traceparent`` (or ``{"traceparent", "tracestate"}``) for
        ``metadata.trace``; by default the active OpenTelemetry span's, if ``opentelemetry`` is
        installed. Raises :class:`GatewayError` on a refusal (``AGENT_NOT_FOUND``, ``FORBIDDEN``…).
        """
        return await self._call(
            "send",
            to_agent_id=to,
            content=content_parts(content),
            conversation_id=conversation_id,
            metadata=with_trace(metadata, trace),
        )

    async def request(
        self,
        to: str,
        content: Any,
        timeout: float | None = None,
        *,
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        trace: TraceArgument = None,
    ) -> Any:
        """Sends a message that expects a result and returns the ``result`` value.

        Raises :class:`GatewayError`: the refusal of the send (``AGENT_NOT_FOUND``…), ``TIMEOUT``
        when no result came within ``timeout`` seconds, or the recipient's failure
        (``AGENT_ERROR`` when its handler raised, or the code of its error object).
        """
        timeout = self.request_timeout if timeout is None else timeout
        timeout_ms = int(timeout * 1000)
        if not 1 <= timeout_ms <= _MAX_TIMEOUT_MS:
            raise ValueError("timeout must be between 0.001 and 3600 seconds")
        conversation = conversation_id or str(uuid.uuid4())
        if conversation in self._requests:
            raise GatewayError("INVALID_MESSAGE", f'a request on conversation "{conversation}" is already pending')
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._requests[conversation] = future
        try:
            await self._call(
                "send",
                to_agent_id=to,
                conversation_id=conversation,
                content=content_parts(content),
                expect_result=True,
                timeout_ms=timeout_ms,
                metadata=with_trace(metadata, trace),
            )
            try:
                # The gateway answers TIMEOUT itself after timeout_ms; this is the safety net for a
                # TIMEOUT result lost with the connection.
                frame = await asyncio.wait_for(future, timeout + self.ack_timeout)
            except asyncio.TimeoutError:
                raise GatewayError("TIMEOUT", f"no result within {timeout:g} s") from None
        finally:
            self._requests.pop(conversation, None)
        if frame.get("success") is True:
            return frame.get("result")
        raise GatewayError.from_result_error(frame.get("error"))

    async def subscribe(self, topic: str, handler: TopicHandler | None = None) -> dict[str, Any]:
        """Subscribes to a topic of the agent's tenant; ``handler`` gets each :class:`TopicMessage`.

        The subscription is renewed after every reconnect.
        """
        ack = await self._call("subscribe", topic=topic)
        self._topics[topic] = handler
        return ack

    async def unsubscribe(self, topic: str) -> dict[str, Any]:
        self._topics.pop(topic, None)
        return await self._call("unsubscribe", topic=topic)

    async def publish(
        self, topic: str, content: Any, metadata: dict[str, Any] | None = None, *, trace: TraceArgument = None
    ) -> dict[str, Any]:
        """Publishes to the topic's subscribers; the ack says how many it reached (``recipients``)."""
        return await self._call("publish", topic=topic, content=content_parts(content), metadata=with_trace(metadata, trace))

    async def update_card(
        self,
        *,
        agent_name: str | None = None,
        capabilities: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Changes this session's card; returns the new card."""
        return await self._call(
            "update_card",
            agent_name=agent_name,
            capabilities=list(capabilities) if capabilities is not None else None,
            metadata=metadata,
        )

    async def refresh(self, token: str | None = None) -> dict[str, Any]:
        """Swaps in a new credential of the same agent (default: from the token callable); returns ``{expires_at}``.

        Done by the client itself at 80% of the credential's life when ``token`` is a callable.
        """
        if token is None:
            if not callable(self._token_source):
                raise GatewayError("INVALID_MESSAGE", "refresh needs a token (or a token callable)")
            token = await self._fetch_token()
        ack = await self._call("refresh", token=token)
        if self._session is not None:
            self._session["expires_at"] = ack.get("expires_at")
        return ack

    async def heartbeat(self) -> dict[str, Any]:
        return await self._call("heartbeat", timestamp=utc_now())

    async def ping(self) -> dict[str, Any]:
        return await self._call("ping")

    # --- connection ------------------------------------------------------------------------

    async def _establish(self, attempt: int) -> tuple[Any, dict[str, Any]]:
        """Connects, retrying with backoff unless the failure is terminal; raises the last failure."""
        while True:
            await self._emit("connecting", attempt)
            try:
                return await self._open()
            except GatewayError as error:
                failure = error
            except (OSError, asyncio.TimeoutError, _transport.InvalidHandshake, _transport.ConnectionClosed) as error:
                failure = GatewayError("UNAVAILABLE", f"could not connect: {error or type(error).__name__}")
            log.info("connect attempt %d failed: %s", attempt, failure)
            exhausted = self.max_reconnect_attempts is not None and attempt >= self.max_reconnect_attempts
            if self._closing or self._is_terminal(failure) or not self.auto_reconnect or exhausted:
                raise failure
            retry_after = failure.retry_after_ms / 1000 if failure.retry_after_ms is not None else None
            delay = full_jitter_delay(attempt, self.reconnect_interval, self.max_reconnect_interval, retry_after=retry_after)
            attempt += 1
            await self._emit("reconnecting", attempt, delay)
            await asyncio.sleep(delay)

    async def _open(self) -> tuple[Any, dict[str, Any]]:
        """One connection attempt: the upgrade, then the first frame (``session``, or ``error`` and a close)."""
        token = await self._fetch_token()
        headers = {"Authorization": f"Bearer {token}"} if token and not self._token_in_query else {}
        url = connect_url(
            self.gateway_url, self.agent_id, self.agent_name, self.capabilities, query_token=token if self._token_in_query else None
        )
        try:
            ws = await _transport.open_connection(
                url, headers, ssl=self._ssl, max_size=self.max_frame_bytes, open_timeout=self.ack_timeout
            )
        except _transport.InvalidHandshake as error:
            status = _transport.handshake_status(error)
            if status in (401, 403):
                refused = "UNAUTHORIZED" if status == 401 else "FORBIDDEN"
                raise GatewayError(refused, f"the gateway refused the upgrade ({status})") from None
            raise
        try:
            frame = parse_frame(await asyncio.wait_for(ws.recv(), self.ack_timeout))
        except _transport.ConnectionClosed:
            code, reason = _transport.close_info(ws)
            raise _refusal_of_close(code, reason) from None
        except (FrameError, asyncio.TimeoutError) as error:
            await ws.close(1002, "expected a session frame")
            raise GatewayError("UNAVAILABLE", f"no session from the gateway: {error or 'timed out'}") from None
        if frame["type"] == "session":
            return ws, frame
        if frame["type"] == "error":
            # The refusal is followed by the close that carries its code (4401…).
            try:
                await asyncio.wait_for(ws.wait_closed(), 5)
            except asyncio.TimeoutError:
                await ws.close(1000, "refused")
            code, _ = _transport.close_info(ws)
            raise GatewayError.from_frame(frame, close_code=code)
        await ws.close(1002, "expected a session frame")
        raise GatewayError("UNAVAILABLE", f'the gateway sent "{frame["type"]}" before the session')

    async def _fetch_token(self) -> str | None:
        source = self._token_source
        if not callable(source):
            return source
        try:
            token = source()
            if inspect.isawaitable(token):
                token = await token
        except Exception as error:  # noqa: BLE001 - a token provider's failure is worth a retry
            raise GatewayError("UNAVAILABLE", f"the token callable failed: {error}") from error
        if not isinstance(token, str):
            raise GatewayError("UNAVAILABLE", "the token callable did not return a str")
        return token

    def _is_terminal(self, error: GatewayError) -> bool:
        if error.close_code == EXPIRED_CLOSE_CODE and callable(self._token_source):
            return False  # the callable can fetch a fresh credential
        if error.close_code is not None:
            return is_terminal_close_code(error.close_code)
        return error.code in TERMINAL_CONNECT_CODES

    async def _supervise(self, ws: Any, session: dict[str, Any]) -> None:
        """Serves one connection after another until a terminal close, a failed reconnect or close()."""
        try:
            while True:
                info = await self._serve(ws, session)
                if self._closing:
                    return
                await self._emit("disconnected", info.reason, info)
                if not info.reconnect or self._closing:
                    if is_terminal_close_code(info.code):
                        self._last_error = GatewayError(
                            "UNAUTHORIZED" if info.code in (4401, 4410, 4440) else "FORBIDDEN",
                            info.message or info.reason,
                            reason=info.reason,
                            close_code=info.code,
                        )
                    return
                delay = full_jitter_delay(0, self.reconnect_interval, self.max_reconnect_interval)
                await self._emit("reconnecting", 1, delay)
                await asyncio.sleep(delay)
                try:
                    ws, session = await self._establish(1)
                except GatewayError as error:
                    log.warning("giving up reconnecting: %s", error)
                    self._last_error = error
                    return
        finally:
            self._state = "closed"
            _fail(self._ready, self._last_error or GatewayError("UNAVAILABLE", "connection closed"))
            self._closed.set()

    async def _serve(self, ws: Any, session: dict[str, Any]) -> DisconnectInfo:
        """Runs one session: reader, heartbeats, refresh; returns how it ended."""
        self._ws = ws
        self._session = session
        self._session_closed = None
        self._state = "ready"
        self.heartbeats_acked = 0
        reader = asyncio.create_task(self._read(ws))
        interval = session.get("heartbeat_interval_s")
        helpers = [asyncio.create_task(self._heartbeats(float(interval) if isinstance(interval, (int, float)) and interval > 0 else 30.0))]
        if callable(self._token_source):
            helpers.append(asyncio.create_task(self._refresh_before_expiry()))
        try:
            await self._resubscribe()
            await self._emit("connected", session)
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(session)
            await reader
        finally:
            for task in (reader, *helpers):
                task.cancel()
            await asyncio.gather(reader, *helpers, return_exceptions=True)
            self._ws = None
            self._session = None
            if self._state == "ready":
                self._state = "connecting"
            if self._ready is None or self._ready.done():
                # connect() called during the reconnect waits for the next session.
                self._ready = asyncio.get_running_loop().create_future()
            self._fail_requests(GatewayError("UNAVAILABLE", "the connection to the gateway was lost"))
        code, close_reason = _transport.close_info(ws)
        closed: dict[str, Any] = self._session_closed if self._session_closed is not None else {}
        reason = closed.get("reason") or close_reason or ("closed" if code == 1000 else "connection_lost")
        terminal = is_terminal_close_code(code) and not (code == EXPIRED_CLOSE_CODE and callable(self._token_source))
        return DisconnectInfo(
            reason=str(reason),
            message=str(closed.get("message") or close_reason or ""),
            code=code,
            reconnect=self.auto_reconnect and not terminal and not self._closing,
        )

    async def _resubscribe(self) -> None:
        topics = list(self._topics)
        if not topics:
            return
        outcomes = await asyncio.gather(*(self._call("subscribe", topic=topic) for topic in topics), return_exceptions=True)
        for topic, outcome in zip(topics, outcomes):
            if isinstance(outcome, BaseException):
                log.warning("could not subscribe to %s again: %s", topic, outcome)

    async def _read(self, ws: Any) -> None:
        try:
            async for raw in ws:
                try:
                    frame = parse_frame(raw)
                except FrameError as error:
                    log.warning("ignoring a frame from the gateway: %s", error)
                    continue
                self._dispatch(frame)
        except _transport.ConnectionClosed:
            pass
        finally:
            self._fail_acks(GatewayError("UNAVAILABLE", "the connection to the gateway was lost"))

    def _dispatch(self, frame: dict[str, Any]) -> None:
        """Routes one server frame; never blocks (handlers are tasks)."""
        kind = frame["type"]
        if kind in ("ack", "error"):
            future = self._acks.get(frame["id"]) if isinstance(frame.get("id"), int) else None
            if future is not None and not future.done():
                future.set_result(frame)
            elif kind == "error":
                log.warning("error from the gateway: %s", GatewayError.from_frame(frame))
        elif kind == "message":
            self._start_handler(Message(frame))
        elif kind == "result":
            pending = self._requests.get(str(frame.get("conversation_id")))
            if pending is not None and not pending.done():
                pending.set_result(frame)
            else:
                log.debug("result for conversation %s that no request waits for", frame.get("conversation_id"))
        elif kind == "topic_message":
            message = TopicMessage(frame)
            handler = self._topics.get(message.topic)
            if handler is not None:
                self._track(asyncio.create_task(self._run_topic_handler(handler, message)))
        elif kind == "cancel":
            self._cancel_conversation(frame)
        elif kind == "session_closed":
            self._session_closed = frame
        elif kind == "session":
            self._session = frame
        else:
            log.debug("ignoring a %s frame", kind)

    # --- handlers --------------------------------------------------------------------------

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_handler(self, message: Message) -> None:
        task = asyncio.create_task(self._run_handler(message))
        self._track(task)
        conversation = message.conversation_id
        running = self._handler_tasks.setdefault(conversation, set())
        running.add(task)

        def forget(done: asyncio.Task[None]) -> None:
            tasks = self._handler_tasks.get(conversation)
            if tasks is not None:
                tasks.discard(done)
                if not tasks:
                    self._handler_tasks.pop(conversation, None)

        task.add_done_callback(forget)

    async def _run_handler(self, message: Message) -> None:
        async with self._slots:
            handler = self._message_handler
            if handler is None:
                log.debug("no on_message handler: message %s not answered", message.get("message_id"))
                return
            try:
                # In the trace the gateway handed over (the delivery span), for the handler's own spans.
                with message_context(message.get("metadata") or {}):
                    value = await self._invoke(handler, message)
            except asyncio.CancelledError:
                raise  # cancelled by a cancel frame or close(): no result
            except Exception as error:  # noqa: BLE001 - the handler's failure is the sender's answer
                log.warning("handler failed on conversation %s: %r", message.conversation_id, error)
                if message.expect_result:
                    await self._answer(message, False, error={"code": "AGENT_ERROR", "message": str(error) or type(error).__name__})
                return
            if message.expect_result:
                await self._answer(message, True, result=value)

    async def _answer(self, message: Message, success: bool, *, result: Any = None, error: Any = None) -> None:
        fields: dict[str, Any] = {"conversation_id": message.conversation_id, "success": success}
        # The result goes back in the message's trace.
        received = (message.get("metadata") or {}).get("trace")
        try:
            answered = trace_context(received) if isinstance(received, dict) else None
        except ValueError:
            answered = None
        if answered is not None:
            fields["metadata"] = {"trace": answered}
        if success:
            fields["result"] = result
        else:
            fields["error"] = error
        try:
            await self._call("result", **fields)
        except GatewayError as refusal:
            if refusal.code == "INVALID_MESSAGE" and success and refusal.details is None:
                # Not JSON: tell the sender instead of leaving it to time out.
                await self._answer(message, False, error={"code": "AGENT_ERROR", "message": str(refusal.message)})
                return
            # The requester left or the connection dropped: it will see a TIMEOUT.
            log.info("result for conversation %s not delivered: %s", message.conversation_id, refusal)

    async def _run_topic_handler(self, handler: TopicHandler, message: TopicMessage) -> None:
        async with self._slots:
            try:
                await self._invoke(handler, message)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                log.warning("topic handler failed on %s: %r", message.topic, error)

    def _cancel_conversation(self, frame: dict[str, Any]) -> None:
        conversation = frame.get("conversation_id")
        if not isinstance(conversation, str):
            log.warning("ignoring a cancel frame without conversation_id")
            return
        tasks = self._handler_tasks.pop(conversation, set())
        for task in tasks:
            task.cancel()
        log.info("conversation %s cancelled by the gateway (%s), %d handler(s) stopped", conversation, frame.get("reason"), len(tasks))
        hook = self.handle_cancel
        if hook is not None:
            self._track(asyncio.create_task(self._run_hook("handle_cancel", hook, conversation)))

    # --- frames ----------------------------------------------------------------------------

    async def _post(self, frame_type: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        """Sends a frame with a fresh id; returns the future of its ``ack`` or ``error``."""
        ws = self._ws
        if ws is None or self._state != "ready":
            raise GatewayError("UNAVAILABLE", "not connected to the gateway")
        frame_id = next(self._ids)
        try:
            text = encode_frame(frame_type, frame_id, **fields)
        except (TypeError, ValueError) as error:
            raise GatewayError("INVALID_MESSAGE", f"{frame_type} is not JSON-serializable: {error}") from None
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[frame_id] = future
        future.add_done_callback(lambda _: self._acks.pop(frame_id, None))
        try:
            await ws.send(text)
        except _transport.ConnectionClosed:
            future.cancel()
            raise GatewayError("UNAVAILABLE", "the connection to the gateway was lost") from None
        return future

    async def _call(self, frame_type: str, **fields: Any) -> dict[str, Any]:
        """Sends a frame and returns its ack's fields, or raises the gateway's refusal."""
        future = await self._post(frame_type, **fields)
        try:
            frame = await asyncio.wait_for(future, self.ack_timeout)
        except asyncio.TimeoutError:
            raise GatewayError("TIMEOUT", f'the gateway did not acknowledge "{frame_type}" in time') from None
        if frame["type"] == "error":
            raise GatewayError.from_frame(frame)
        return {key: value for key, value in frame.items() if key not in ("type", "id")}

    async def _heartbeats(self, interval: float) -> None:
        # On a fixed beat: a slow ack does not push the next heartbeat back.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            try:
                future = await self._post("heartbeat", timestamp=utc_now())
            except GatewayError as error:
                log.debug("heartbeat not sent: %s", error)
                continue
            timer = loop.call_later(self.ack_timeout, future.cancel)
            future.add_done_callback(functools.partial(self._on_heartbeat_ack, timer=timer))

    def _on_heartbeat_ack(self, future: asyncio.Future[dict[str, Any]], *, timer: asyncio.TimerHandle) -> None:
        timer.cancel()
        if future.cancelled() or future.exception() is not None:
            log.debug("heartbeat not acknowledged")
            return
        if future.result().get("type") == "ack":
            self.heartbeats_acked += 1
            self.last_heartbeat_ack = time.monotonic()

    async def _refresh_before_expiry(self) -> None:
        """Refreshes at 80% of the credential's remaining life, while the session has an expiry."""
        while True:
            session = self._session
            expires = parse_timestamp(session.get("expires_at")) if session else None
            if expires is None:
                return
            remaining = (expires - datetime.now(timezone.utc)).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(max(remaining * 0.8, min(1.0, remaining)))
            try:
                await self.refresh()
            except GatewayError as error:
                log.warning("refresh failed: %s", error)

    # --- plumbing --------------------------------------------------------------------------

    def _fail_acks(self, error: GatewayError) -> None:
        for future in list(self._acks.values()):
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a heartbeat's future may have no waiter

    def _fail_requests(self, error: GatewayError) -> None:
        for future in list(self._requests.values()):
            if not future.done():
                future.set_exception(error)
                future.exception()

    async def _emit(self, name: str, *args: Any) -> None:
        hook = self._hooks.get(name)
        if hook is not None:
            await self._run_hook(name, hook, *args)

    async def _invoke(self, handler: Callable[[Any], Any], argument: Any) -> Any:
        """Calls an async handler in this task, a sync one in a worker thread (it may block)."""
        if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None)):
            return await handler(argument)
        if self._executor is None:
            # As many threads as handler slots: the default executor's few would bound sync handlers lower.
            self._executor = ThreadPoolExecutor(max_workers=self._max_handlers, thread_name_prefix="agent_gateway-handler")
        # In a copy of this task's context: the handler sees the message's OpenTelemetry context too.
        value = await asyncio.get_running_loop().run_in_executor(self._executor, contextvars.copy_context().run, handler, argument)
        if inspect.isawaitable(value):
            value = await value
        return value

    @staticmethod
    async def _run_hook(name: str, hook: Callable[..., Any], *args: Any) -> None:
        try:
            value = hook(*args)
            if inspect.isawaitable(value):
                await value
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a hook's bug must not break the connection
            log.exception("%s hook failed", name)


def _fail(future: asyncio.Future[Any] | None, error: BaseException) -> None:
    """Fails a future nobody may be waiting for, without an "exception never retrieved" warning."""
    if future is not None and not future.done():
        future.set_exception(error)
        future.exception()


def _refusal_of_close(code: int | None, reason: str) -> GatewayError:
    """A connection closed before any frame: the close reason is the error code or disconnect reason."""
    known = reason if reason and reason.isupper() else None
    if known is None and is_terminal_close_code(code):
        known = "UNAUTHORIZED" if code in (4401, 4410, 4440) else "FORBIDDEN"
    return GatewayError(known or "UNAVAILABLE", f"the gateway closed the connection ({code} {reason})".strip(), close_code=code)


def _ssl_context(
    context: _ssl.SSLContext | None, cert_file: str | None, key_file: str | None, ca_file: str | None
) -> _ssl.SSLContext | None:
    if context is not None:
        if cert_file or key_file or ca_file:
            raise ValueError("give either ssl or cert_file/key_file/ca_file, not both")
        return context
    if not (cert_file or key_file or ca_file):
        return None
    if key_file and not cert_file:
        raise ValueError("key_file needs cert_file")
    created = _ssl.create_default_context(cafile=ca_file)
    if cert_file:
        created.load_cert_chain(cert_file, key_file)
    return created
