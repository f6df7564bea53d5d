"""GatewayClient against a scripted gateway: a real `websockets` server in this process that
speaks the frames of docs/protocol.md. What is real: the client, the library, the sockets. What is
scripted: the gateway's answers (the e2e tests in test/python-sdk.e2e-spec.ts use the real one).
"""

import asyncio
import json
import threading
import unittest
from typing import Any, Awaitable, Callable

import websockets

from agent_gateway import DisconnectInfo, GatewayClient, GatewayError

WAIT = 5.0  # upper bound for anything that should happen "soon"; never a speed assertion


def _path(ws: Any) -> str:
    request = getattr(ws, "request", None)
    return request.path if request is not None else ws.path


def _headers(ws: Any) -> Any:
    request = getattr(ws, "request", None)
    return request.headers if request is not None else ws.request_headers


class FakeConnection:
    """One client connection as the scripted gateway sees it."""

    AUTO_ACK = {"heartbeat", "subscribe", "unsubscribe", "result", "refresh", "ping"}

    def __init__(self, ws: Any, number: int) -> None:
        self.ws = ws
        self.number = number
        self.path = _path(ws)
        self.authorization = _headers(ws).get("Authorization")
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def session(self, **extra: Any) -> None:
        await self.send(
            {
                "type": "session",
                "session_id": f"s{self.number}",
                "agent": {"agent_id": "py-1"},
                "heartbeat_interval_s": extra.pop("heartbeat_interval_s", 30),
                "heartbeat_timeout_s": 60,
                "expires_at": extra.pop("expires_at", None),
                **extra,
            }
        )

    async def next(self, frame_type: str) -> dict[str, Any]:
        """The next frame of that type (others are skipped)."""
        while True:
            frame = await asyncio.wait_for(self.frames.get(), WAIT)
            if frame["type"] == frame_type:
                return frame

    def of_type(self, frame_type: str) -> list[dict[str, Any]]:
        return [f for f in self.received if f["type"] == frame_type]

    async def pump(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.received.append(frame)
                if frame["type"] in self.AUTO_ACK and "id" in frame:
                    ack: dict[str, Any] = {"type": "ack", "id": frame["id"]}
                    if frame["type"] == "subscribe":
                        ack.update(topic=frame["topic"], status="subscribed")
                    elif frame["type"] == "refresh":
                        ack.update(expires_at=None)
                    await self.send(ack)
                await self.frames.put(frame)
        except websockets.exceptions.ConnectionClosed:
            pass


class FakeGateway:
    """A websockets server; ``on_connect(conn)`` scripts each connection (default: send a session)."""

    def __init__(self, on_connect: Callable[[FakeConnection], Awaitable[None]] | None = None) -> None:
        self.on_connect = on_connect or (lambda conn: conn.session())
        self.connections: list[FakeConnection] = []
        self.connected: asyncio.Queue[FakeConnection] = asyncio.Queue()
        self.url = ""

    async def __aenter__(self) -> "FakeGateway":
        serve = getattr(websockets, "serve")  # exported lazily by websockets
        self.server = await serve(self._handle, "127.0.0.1", 0)
        port = list(self.server.sockets)[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, ws: Any, *_: Any) -> None:
        conn = FakeConnection(ws, len(self.connections) + 1)
        self.connections.append(conn)
        pump = asyncio.create_task(conn.pump())
        await self.on_connect(conn)
        await self.connected.put(conn)
        await pump

    async def next_connection(self) -> FakeConnection:
        return await asyncio.wait_for(self.connected.get(), WAIT)


async def eventually(predicate: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def message(conversation_id: str, text: str = "hi", expect_result: bool = True) -> dict[str, Any]:
    return {
        "type": "message",
        "message_id": f"m-{conversation_id}",
        "from_agent_id": "peer",
        "to_agent_id": "py-1",
        "conversation_id": conversation_id,
        "content": [{"type": "text", "text": text}],
        "metadata": {},
        "timestamp": "2026-03-04T12:00:00Z",
        "expect_result": expect_result,
    }


class ClientTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.gateway = await FakeGateway().__aenter__()
        self.clients: list[GatewayClient] = []

    async def asyncTearDown(self) -> None:
        for client in self.clients:
            await client.close()
        await self.gateway.__aexit__()

    def client(self, **options: Any) -> GatewayClient:
        options.setdefault("token", "agt_test")
        options.setdefault("reconnect_interval", 0.05)
        options.setdefault("ack_timeout", 2)
        client = GatewayClient(self.gateway.url, "py-1", "Py One", ["search"], **options)
        self.clients.append(client)
        return client

    async def test_connect_sends_the_token_header_and_the_card_and_returns_the_session(self):
        client = self.client()
        session = await client.connect()
        conn = self.gateway.connections[0]
        self.assertEqual(session["session_id"], "s1")
        self.assertTrue(client.connected)
        self.assertEqual(conn.authorization, "Bearer agt_test")
        self.assertIn("/gateway/connect?agent_id=py-1&agent_name=Py+One&capabilities=", conn.path)

    async def test_heartbeats_follow_the_interval_of_the_session_frame(self):
        self.gateway.on_connect = lambda conn: conn.session(heartbeat_interval_s=0.05)
        client = self.client()
        await client.connect()
        conn = self.gateway.connections[0]
        await eventually(lambda: client.heartbeats_acked >= 3, "three acknowledged heartbeats")
        heartbeat = conn.of_type("heartbeat")[0]
        self.assertIsInstance(heartbeat["id"], int)
        self.assertTrue(heartbeat["timestamp"].endswith("Z"))

    async def test_an_error_frame_and_a_terminal_close_raise_without_a_retry(self):
        async def refuse(conn: FakeConnection) -> None:
            await conn.send({"type": "error", "code": "UNAUTHORIZED", "message": "unknown token", "reason": "unknown_token", "request_id": "r1"})
            await conn.ws.close(4401, "UNAUTHORIZED")

        self.gateway.on_connect = refuse
        attempts: list[int] = []
        client = self.client(on_connecting=attempts.append)
        with self.assertRaises(GatewayError) as raised:
            await asyncio.wait_for(client.connect(), WAIT)
        self.assertEqual((raised.exception.code, raised.exception.reason, raised.exception.close_code), ("UNAUTHORIZED", "unknown_token", 4401))
        await asyncio.sleep(0.3)  # several backoff ceilings: a retry would have happened by now
        self.assertEqual((len(self.gateway.connections), attempts), (1, [0]))
        self.assertEqual(client.state, "closed")

    async def test_two_concurrent_connects_share_one_attempt_and_its_refusal(self):
        async def refuse(conn: FakeConnection) -> None:
            await conn.send({"type": "error", "code": "FORBIDDEN", "message": "agent disabled"})
            await conn.ws.close(4403, "FORBIDDEN")

        self.gateway.on_connect = refuse
        client = self.client()
        outcomes = await asyncio.wait_for(asyncio.gather(client.connect(), client.connect(), return_exceptions=True), WAIT)
        self.assertEqual([getattr(o, "code", o) for o in outcomes], ["FORBIDDEN", "FORBIDDEN"])
        self.assertEqual(len(self.gateway.connections), 1)

    async def test_a_retryable_refusal_is_retried_with_backoff(self):
        async def busy_once(conn: FakeConnection) -> None:
            if conn.number == 1:
                await conn.send({"type": "error", "code": "RATE_LIMIT", "message": "wait", "retry_after_ms": 50})
                await conn.ws.close(4529, "RATE_LIMIT")
            else:
                await conn.session()

        self.gateway.on_connect = busy_once
        delays: list[float] = []
        client = self.client(on_reconnecting=lambda attempt, delay: delays.append(delay))
        session = await client.connect()
        self.assertEqual(session["session_id"], "s2")
        self.assertEqual(len(delays), 1)
        self.assertGreaterEqual(delays[0], 0.05)  # retry_after_ms is a floor

    async def test_the_handler_return_value_becomes_a_successful_result(self):
        client = self.client()

        @client.on_message
        async def handle(msg):
            return {"echo": msg.text.upper(), "from": msg.from_agent_id}

        await client.connect()
        conn = self.gateway.connections[0]
        await conn.send(message("c1", "six times seven"))
        result = await conn.next("result")
        self.assertEqual(
            {k: result[k] for k in ("conversation_id", "success", "result")},
            {"conversation_id": "c1", "success": True, "result": {"echo": "SIX TIMES SEVEN", "from": "peer"}},
        )

    async def test_a_handler_exception_becomes_agent_error_and_sync_handlers_work(self):
        client = self.client()

        @client.on_message
        def handle(msg):  # sync: runs in a worker thread
            raise ValueError(f"cannot answer {msg.text}")

        await client.connect()
        conn = self.gateway.connections[0]
        await conn.send(message("c2", "this"))
        result = await conn.next("result")
        self.assertEqual((result["success"], result["error"]), (False, {"code": "AGENT_ERROR", "message": "cannot answer this"}))

    async def test_no_result_is_sent_when_the_sender_does_not_expect_one(self):
        seen: list[str] = []
        client = self.client()
        client.on_message(lambda msg: seen.append(msg.conversation_id))
        await client.connect()
        conn = self.gateway.connections[0]
        await conn.send(message("fire-and-forget", expect_result=False))
        await conn.send(message("c3"))
        await conn.next("result")
        self.assertEqual([f["conversation_id"] for f in conn.of_type("result")], ["c3"])
        self.assertEqual(sorted(seen), ["c3", "fire-and-forget"])

    async def test_a_cancel_frame_stops_the_handler_sends_no_result_and_calls_handle_cancel(self):
        started = asyncio.Event()
        stopped: list[str] = []
        cancelled: list[str] = []
        client = self.client(handle_cancel=cancelled.append)

        @client.on_message
        async def handle(msg):
            if msg.conversation_id == "long":
                started.set()
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    stopped.append(msg.conversation_id)
                    raise
            return "done"

        await client.connect()
        conn = self.gateway.connections[0]
        await conn.send(message("long"))
        await asyncio.wait_for(started.wait(), WAIT)
        await conn.send({"type": "cancel", "conversation_id": "long", "reason": "canceled by the A2A client"})
        await eventually(lambda: cancelled == ["long"], "handle_cancel")
        self.assertEqual(stopped, ["long"])
        # The connection keeps serving: a later message is answered, and the cancelled one never is.
        await conn.send(message("short"))
        result = await conn.next("result")
        self.assertEqual(result["conversation_id"], "short")
        self.assertEqual([f["conversation_id"] for f in conn.of_type("result")], ["short"])

    async def test_a_cancel_for_an_unknown_conversation_only_calls_the_hook(self):
        cancelled: list[str] = []
        client = self.client()

        @client.on_cancel
        async def on_cancel(conversation_id):
            cancelled.append(conversation_id)

        await client.connect()
        await self.gateway.connections[0].send({"type": "cancel", "conversation_id": "nothing-running"})
        await eventually(lambda: cancelled == ["nothing-running"], "handle_cancel")
        self.assertTrue(client.connected)

    async def test_handlers_are_bounded_by_max_concurrent_handlers(self):
        release = threading.Event()
        lock = threading.Lock()
        running = {"now": 0, "peak": 0, "done": 0}
        client = self.client(max_concurrent_handlers=2)

        @client.on_message
        def handle(msg):  # blocking, in threads
            with lock:
                running["now"] += 1
                running["peak"] = max(running["peak"], running["now"])
            release.wait(WAIT)
            with lock:
                running["now"] -= 1
                running["done"] += 1
            return msg.conversation_id

        await client.connect()
        conn = self.gateway.connections[0]
        for n in range(5):
            await conn.send(message(f"c{n}"))
        await eventually(lambda: running["now"] == 2, "two running handlers")
        await asyncio.sleep(0.1)
        self.assertEqual(running["now"], 2)  # the other three wait for a slot
        release.set()
        for _ in range(5):
            await conn.next("result")
        self.assertEqual((running["peak"], running["done"]), (2, 5))

    async def test_sync_handlers_get_as_many_threads_as_handler_slots(self):
        release = threading.Event()
        lock = threading.Lock()
        running = {"now": 0}
        client = self.client(max_concurrent_handlers=12)  # more than the default executor's threads

        @client.on_message
        def handle(msg):
            with lock:
                running["now"] += 1
            release.wait(WAIT)
            return "ok"

        await client.connect()
        conn = self.gateway.connections[0]
        for n in range(12):
            await conn.send(message(f"t{n}"))
        try:
            await eventually(lambda: running["now"] == 12, "twelve blocking handlers at once")
        finally:
            release.set()
        for _ in range(12):
            await conn.next("result")

    async def test_connect_during_a_reconnect_waits_for_it_instead_of_opening_a_second_connection(self):
        async def slow_second(conn: FakeConnection) -> None:
            if conn.number == 2:
                await asyncio.sleep(0.3)
            await conn.session()

        self.gateway.on_connect = slow_second
        client = self.client()
        await client.connect()
        await self.gateway.connections[0].ws.close(4508, "heartbeat_timeout")
        await eventually(lambda: client.state == "connecting", "the reconnect")
        session = await asyncio.wait_for(client.connect(), WAIT)
        self.assertEqual(session["session_id"], "s2")
        await asyncio.sleep(0.2)
        self.assertEqual(len(self.gateway.connections), 2)

    async def test_close_stops_a_connect_that_is_still_retrying(self):
        client = GatewayClient("ws://127.0.0.1:9", "py-1", reconnect_interval=0.2)
        attempts: list[int] = []
        client.on_connecting(attempts.append)
        connecting = asyncio.create_task(client.connect())
        await eventually(lambda: len(attempts) >= 2, "a retry")
        await client.close()
        with self.assertRaises(GatewayError) as raised:
            await asyncio.wait_for(connecting, WAIT)
        self.assertEqual(raised.exception.code, "UNAVAILABLE")
        count = len(attempts)
        await asyncio.sleep(0.5)
        self.assertEqual(len(attempts), count)
        self.assertEqual(client.state, "closed")

    async def test_a_slow_handler_does_not_hold_up_heartbeats_or_other_messages(self):
        self.gateway.on_connect = lambda conn: conn.session(heartbeat_interval_s=0.05)
        release = asyncio.Event()
        client = self.client()

        @client.on_message
        async def handle(msg):
            if msg.conversation_id == "slow":
                await release.wait()
            return msg.conversation_id

        await client.connect()
        conn = self.gateway.connections[0]
        await conn.send(message("slow"))
        await asyncio.sleep(0.05)
        before = client.heartbeats_acked
        await conn.send(message("quick"))
        quick = await conn.next("result")
        await eventually(lambda: client.heartbeats_acked >= before + 3, "heartbeats while the slow handler runs")
        self.assertEqual(quick["conversation_id"], "quick")
        self.assertEqual(conn.of_type("result"), [quick])  # the slow one is still running
        release.set()
        self.assertEqual((await conn.next("result"))["conversation_id"], "slow")

    async def test_request_returns_the_result_value(self):
        client = self.client()
        await client.connect()
        conn = self.gateway.connections[0]
        pending = asyncio.create_task(client.request("peer", {"q": 6}, timeout=5))
        send = await conn.next("send")
        self.assertEqual((send["to_agent_id"], send["expect_result"], send["timeout_ms"]), ("peer", True, 5000))
        self.assertEqual(send["content"], [{"type": "data", "data": {"q": 6}}])
        await conn.send({"type": "ack", "id": send["id"], "message_id": "m", "conversation_id": send["conversation_id"], "status": "delivered"})
        await conn.send({"type": "result", "conversation_id": send["conversation_id"], "from_agent_id": "peer", "success": True, "result": 42})
        self.assertEqual(await pending, 42)

    async def test_request_failures_raise_gateway_error_with_the_code(self):
        client = self.client()
        await client.connect()
        conn = self.gateway.connections[0]

        async def answer(result: dict[str, Any] | None, error: dict[str, Any] | None = None) -> GatewayError:
            pending = asyncio.create_task(client.request("peer", "hello", timeout=5))
            send = await conn.next("send")
            if error is not None:
                await conn.send({"type": "error", "id": send["id"], **error})
            else:
                await conn.send({"type": "ack", "id": send["id"], "status": "delivered"})
                await conn.send({"type": "result", "conversation_id": send["conversation_id"], **(result or {})})
            with self.assertRaises(GatewayError) as raised:
                await pending
            return raised.exception

        refused = await answer(None, {"code": "AGENT_NOT_FOUND", "message": "agent peer is not connected", "request_id": "r9"})
        self.assertEqual((refused.code, refused.request_id), ("AGENT_NOT_FOUND", "r9"))
        timed_out = await answer({"success": False, "error": {"code": "TIMEOUT", "message": "no result within 5000 ms"}})
        self.assertEqual(timed_out.code, "TIMEOUT")
        failed = await answer({"success": False, "error": {"code": "AGENT_ERROR", "message": "boom"}})
        self.assertEqual((failed.code, failed.message), ("AGENT_ERROR", "boom"))

    async def test_an_ack_that_never_comes_is_a_timeout(self):
        client = self.client(ack_timeout=0.2)
        await client.connect()
        with self.assertRaises(GatewayError) as raised:
            await client.send("peer", "hello")  # the scripted gateway does not ack send
        self.assertEqual(raised.exception.code, "TIMEOUT")

    async def test_after_a_retryable_close_it_reconnects_with_a_fresh_token_and_subscribes_again(self):
        tokens = iter(["agt_first", "agt_second", "agt_third"])
        events: list[str] = []
        client = self.client(
            token=lambda: next(tokens),
            on_connected=lambda s: events.append(f"connected {s['session_id']}"),
            on_disconnected=lambda reason, info: events.append(f"disconnected {reason} {info.code} {info.reconnect}"),
            on_reconnecting=lambda attempt, delay: events.append(f"reconnecting {attempt}"),
        )
        topic_messages: list[str] = []
        await client.connect()
        first = self.gateway.connections[0]
        await client.subscribe("jobs/new", lambda m: topic_messages.append(m.text))
        await first.send({"type": "session_closed", "reason": "server_shutdown", "message": "node stopping", "reconnect": True})
        await first.ws.close(4503, "server_shutdown")
        second = await self.gateway.next_connection()
        second = await self.gateway.next_connection() if second is first else second
        # on_connected comes once the topics are subscribed again.
        await eventually(lambda: "connected s2" in events, "the second session")
        self.assertEqual((first.authorization, second.authorization), ("Bearer agt_first", "Bearer agt_second"))
        self.assertEqual([f["topic"] for f in second.of_type("subscribe")], ["jobs/new"])
        self.assertEqual(events, ["connected s1", "disconnected server_shutdown 4503 True", "reconnecting 1", "connected s2"])
        await second.send({"type": "topic_message", "topic": "jobs/new", "message_id": "t", "from_agent_id": "p", "content": [{"type": "text", "text": "job 7"}]})
        await eventually(lambda: topic_messages == ["job 7"], "the topic message after the reconnect")

    async def test_a_terminal_close_of_a_session_stops_the_client(self):
        infos: list[DisconnectInfo] = []
        client = self.client(on_disconnected=lambda reason, info: infos.append(info))
        await client.connect()
        conn = self.gateway.connections[0]
        await conn.send({"type": "session_closed", "reason": "revoked", "message": "credential revoked", "reconnect": False})
        await conn.ws.close(4410, "revoked")
        await asyncio.wait_for(client.wait_closed(), WAIT)
        await asyncio.sleep(0.3)
        self.assertEqual(len(self.gateway.connections), 1)
        self.assertEqual([(i.reason, i.code, i.reconnect, i.message) for i in infos], [("revoked", 4410, False, "credential revoked")])
        self.assertIsNotNone(client.last_error)
        self.assertEqual(client.last_error.close_code if client.last_error else None, 4410)

    async def test_expired_is_retried_only_with_a_token_callable(self):
        async def expire_first(conn: FakeConnection) -> None:
            await conn.session()
            if conn.number == 1:
                await conn.ws.close(4440, "expired")

        self.gateway.on_connect = expire_first
        client = self.client(token=lambda: "agt_fresh")
        await client.connect()
        await eventually(lambda: len(self.gateway.connections) == 2 and client.connected, "a reconnect after expired")

    async def test_refresh_is_sent_before_expiry_with_the_callable_token(self):
        from datetime import datetime, timedelta, timezone

        expires = (datetime.now(timezone.utc) + timedelta(seconds=0.5)).isoformat().replace("+00:00", "Z")
        self.gateway.on_connect = lambda conn: conn.session(expires_at=expires)
        calls: list[int] = []

        async def token() -> str:
            calls.append(1)
            return f"agt_{len(calls)}"

        client = self.client(token=token)
        await client.connect()
        refresh = await self.gateway.connections[0].next("refresh")
        self.assertEqual(refresh["token"], "agt_2")  # 1 for the connect, 2 for the refresh

    async def test_close_cancels_running_handlers(self):
        started = asyncio.Event()
        stopped = asyncio.Event()
        client = self.client()

        @client.on_message
        async def handle(msg):
            started.set()
            try:
                await asyncio.sleep(30)
            finally:
                stopped.set()

        await client.connect()
        await self.gateway.connections[0].send(message("c"))
        await asyncio.wait_for(started.wait(), WAIT)
        await client.close()
        self.assertTrue(stopped.is_set())
        self.assertEqual(client.state, "closed")
        with self.assertRaises(GatewayError) as raised:
            await client.send("peer", "after close")
        self.assertEqual(raised.exception.code, "UNAVAILABLE")

    async def test_an_unreachable_gateway_fails_fast_without_auto_reconnect(self):
        client = GatewayClient("ws://127.0.0.1:9", "py-1", auto_reconnect=False)
        with self.assertRaises(GatewayError) as raised:
            await client.connect()
        self.assertEqual(raised.exception.code, "UNAVAILABLE")

    async def test_max_reconnect_attempts_bounds_the_retries(self):
        client = GatewayClient("ws://127.0.0.1:9", "py-1", reconnect_interval=0.01, max_reconnect_attempts=2)
        attempts: list[int] = []
        client.on_connecting(attempts.append)
        with self.assertRaises(GatewayError):
            await asyncio.wait_for(client.connect(), WAIT)
        self.assertEqual(attempts, [0, 1, 2])


class OptionsTest(unittest.TestCase):
    def test_tls_options_need_a_wss_url(self):
        import ssl

        with self.assertRaises(ValueError):
            GatewayClient("ws://h", "a", ssl=ssl.create_default_context())
        GatewayClient("https://h", "a", ssl=ssl.create_default_context())

    def test_bad_options_are_refused(self):
        with self.assertRaises(ValueError):
            GatewayClient("ws://h", "a", max_concurrent_handlers=0)
        with self.assertRaises(ValueError):
            GatewayClient("tcp://h", "a")


if __name__ == "__main__":
    unittest.main()
