"""W3C trace context in metadata.trace: the explicit path (``trace=``), and results answered in the
message's trace, against the scripted gateway of test_client. The OpenTelemetry path needs the
``opentelemetry`` package, which Debian does not ship: it is exercised only when importable.
"""

import asyncio
import unittest
from typing import Any

from agent_gateway import GatewayClient
from agent_gateway.tracing import active_trace_context, is_traceparent, trace_context, with_trace
from test_client import FakeGateway, message

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class TraceContextTest(unittest.TestCase):
    def test_validates_traceparents(self):
        self.assertTrue(is_traceparent(TRACEPARENT))
        for bad in ("", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", TRACEPARENT + "-x", TRACEPARENT.upper(), None):
            self.assertFalse(is_traceparent(bad), bad)
        with self.assertRaises(ValueError):
            trace_context("nope")
        with self.assertRaises(ValueError):
            trace_context({"traceparent": TRACEPARENT, "tracestate": "k=" + "v" * 600})

    def test_metadata_trace_wins_then_the_explicit_argument(self):
        kept = {"trace": {"traceparent": TRACEPARENT}, "x": 1}
        self.assertIs(with_trace(kept, "00-11111111111111111111111111111111-2222222222222222-01"), kept)
        self.assertEqual(with_trace({"x": 1}, TRACEPARENT), {"x": 1, "trace": {"traceparent": TRACEPARENT}})
        self.assertEqual(
            with_trace(None, {"traceparent": TRACEPARENT, "tracestate": "a=b"}),
            {"trace": {"traceparent": TRACEPARENT, "tracestate": "a=b"}},
        )

    def test_nothing_is_added_without_opentelemetry_or_an_active_span(self):
        if active_trace_context() is None:
            self.assertIsNone(with_trace(None))
            self.assertEqual(with_trace({"x": 1}), {"x": 1})


class TracedClientTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.gateway = await FakeGateway().__aenter__()
        self.clients: list[GatewayClient] = []

    async def asyncTearDown(self) -> None:
        for client in self.clients:
            await client.close()
        await self.gateway.__aexit__()

    def client(self, **options: Any) -> GatewayClient:
        client = GatewayClient(self.gateway.url, "py-1", "Py One", ["search"], token="agt_test", ack_timeout=2, **options)
        self.clients.append(client)
        return client

    async def test_send_and_request_carry_the_explicit_trace(self):
        client = self.client()
        await client.connect()
        conn = self.gateway.connections[0]
        sending = asyncio.create_task(client.send("peer", "hi", trace=TRACEPARENT, metadata={"k": "v"}))
        send = await conn.next("send")
        self.assertEqual(send["metadata"], {"k": "v", "trace": {"traceparent": TRACEPARENT}})
        await conn.send({"type": "ack", "id": send["id"], "message_id": "m", "conversation_id": "c", "status": "delivered"})
        await sending

    async def test_a_result_goes_back_in_the_trace_of_the_message(self):
        client = self.client()

        @client.on_message
        def handle(msg):  # a sync handler: it runs in a worker thread
            return "ok"

        await client.connect()
        conn = self.gateway.connections[0]
        traced = message("t1")
        traced["metadata"] = {"trace": {"traceparent": TRACEPARENT, "tracestate": "gw=1"}}
        await conn.send(traced)
        result = await conn.next("result")
        self.assertEqual(result["metadata"], {"trace": {"traceparent": TRACEPARENT, "tracestate": "gw=1"}})
        await conn.send(message("t2"))
        untraced = await conn.next("result")
        self.assertNotIn("metadata", untraced)


if __name__ == "__main__":
    unittest.main()
