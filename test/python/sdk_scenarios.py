#!/usr/bin/env python3
"""The Python SDK against a real gateway, driven by test/python-sdk.e2e-spec.ts.

    python3 test/python/sdk_scenarios.py <scenario>

Each scenario prints what it observed as JSON lines ({"event": ..., ...}) and the Node spec
asserts on them; nothing here decides success. Settings come from the environment (GATEWAY_URL,
A_ID/A_TOKEN, B_ID/B_TOKEN, ...), set by the spec.
"""

import asyncio
import json
import os
import sys
import time
from typing import Any

from agent_gateway import GatewayClient, GatewayError

URL = os.environ.get("GATEWAY_URL", "")
DEADLINE_S = float(os.environ.get("SCENARIO_TIMEOUT_S", "40"))


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, sort_keys=True), flush=True)


def error_fields(error: GatewayError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "reason": error.reason, "close_code": error.close_code}


async def outcome(awaitable: Any) -> dict[str, Any]:
    """The value, or the GatewayError's fields, of one call."""
    try:
        return {"value": await awaitable}
    except GatewayError as error:
        return {"error": error_fields(error)}


async def basics() -> None:
    """Two Python agents and the spec's Node agent: requests both ways, failures, topics, send, card."""
    a_id, b_id, node_id, topic = os.environ["A_ID"], os.environ["B_ID"], os.environ["NODE_ID"], os.environ["TOPIC"]
    a = GatewayClient(URL, a_id, agent_name="Python A", token=os.environ["A_TOKEN"], reconnect_interval=0.2)
    b = GatewayClient(URL, b_id, token=os.environ["B_TOKEN"], reconnect_interval=0.2)
    answered_node = asyncio.Event()

    @a.on_message
    async def a_handle(message):
        if message.from_agent_id == node_id:
            answered_node.set()
        return {"python_says": message.text[::-1], "by": a_id}

    @b.on_message
    async def b_handle(message):
        if message.text == "fail":
            raise RuntimeError("disk full")
        if message.text == "slow":
            await asyncio.sleep(3)
            return "too late"
        if message.data is not None:
            emit("b_got_data", data=message.data, expect_result=message.expect_result)
            return None
        return {"echo": message.text.upper(), "by": b_id}

    await a.connect()
    await b.connect()
    emit("ready")
    emit("a_to_b", **await outcome(a.request(b_id, "hello b", timeout=10)))
    emit("b_to_a", **await outcome(b.request(a_id, "hello a", timeout=10)))
    emit("a_to_node", **await outcome(a.request(node_id, "hello node", timeout=10)))
    emit("handler_exception", **await outcome(a.request(b_id, "fail", timeout=10)))
    emit("unknown_target", **await outcome(a.request("nobody-" + a_id, "anyone?", timeout=10)))
    emit("time_out", **await outcome(a.request(b_id, "slow", timeout=1)))

    received: asyncio.Queue[str] = asyncio.Queue()

    async def on_topic(message):
        await received.put(f"{message.from_agent_id}: {message.text}")

    emit("subscribe", **await outcome(b.subscribe(topic, on_topic)))
    emit("publish", **await outcome(a.publish(topic, "news 1")))
    emit("topic_received", value=await asyncio.wait_for(received.get(), 10))
    emit("unsubscribe", **await outcome(b.unsubscribe(topic)))
    emit("publish_after_unsubscribe", **await outcome(a.publish(topic, "news 2")))
    emit("send", **await outcome(a.send(b_id, {"n": 1})))
    emit("update_card", **await outcome(a.update_card(agent_name="Python A renamed")))
    await asyncio.wait_for(answered_node.wait(), 15)
    emit("answered_node")
    await a.close()
    await b.close()
    emit("done")


async def bad_token() -> None:
    """A refused credential: connect() raises UNAUTHORIZED after one attempt, and nothing retries."""
    attempts: list[int] = []
    client = GatewayClient(URL, os.environ["A_ID"], token="agt_" + "x" * 43, reconnect_interval=0.05, on_connecting=attempts.append)
    try:
        await client.connect()
        emit("connected")
    except GatewayError as error:
        emit("refused", attempts=len(attempts), state=client.state, **error_fields(error))
    # Many backoff ceilings (50 ms, 100 ms, …): a retry would have shown up by now.
    await asyncio.sleep(1)
    emit("later", attempts=len(attempts))


async def reconnect() -> None:
    """Survives a gateway restart: reconnects by itself with a fresh token and subscribes again."""
    topic = os.environ["TOPIC"]
    tokens = [os.environ["A_TOKEN"], os.environ["A_TOKEN_2"]]
    calls: list[int] = []

    async def token() -> str:
        index = min(len(calls), 1)  # the first connect gets the first token, every later one the second
        calls.append(index)
        emit("token_called", call=len(calls), index=index)
        return tokens[index]

    client = GatewayClient(
        URL,
        os.environ["A_ID"],
        token=token,
        reconnect_interval=0.2,
        max_reconnect_interval=1,
        on_connected=lambda session: emit("connected", session_id=session["session_id"]),
        on_disconnected=lambda reason, info: emit("disconnected", reason=reason, code=info.code, reconnect=info.reconnect),
        on_reconnecting=lambda attempt, delay: emit("reconnecting", attempt=attempt),
    )
    received = asyncio.Event()

    async def on_topic(message):
        emit("topic", text=message.text, session_id=client.session["session_id"] if client.session else None)
        received.set()

    await client.connect()
    await client.subscribe(topic, on_topic)
    emit("subscribed")
    await asyncio.wait_for(received.wait(), DEADLINE_S)
    emit("ping", **await outcome(client.ping()))
    await client.close()
    emit("done", state=client.state, last_error=client.last_error and error_fields(client.last_error))


async def slow_handler() -> None:
    """A handler that blocks for longer than heartbeat_timeout_s: the sessions stay up meanwhile."""
    a_id, b_id = os.environ["A_ID"], os.environ["B_ID"]
    hold_s = float(os.environ.get("HOLD_S", "6"))
    disconnects: list[str] = []

    def on_disconnected(name: str) -> Any:
        return lambda reason, info: disconnects.append(f"{name}: {reason} ({info.code}, {info.message})")

    a = GatewayClient(URL, a_id, token=os.environ["A_TOKEN"], on_disconnected=on_disconnected("a"))
    b = GatewayClient(URL, b_id, token=os.environ["B_TOKEN"], on_disconnected=on_disconnected("b"))
    during: dict[str, int] = {}

    @b.on_message
    def hold(message):  # sync and blocking: the SDK runs it in a worker thread
        during["before"] = b.heartbeats_acked
        time.sleep(hold_s)
        during["after"] = b.heartbeats_acked
        return "finally"

    a_session, b_session = await a.connect(), await b.connect()
    sessions = [a_session["session_id"], b_session["session_id"]]
    emit("ready", heartbeat_interval_s=b_session["heartbeat_interval_s"], heartbeat_timeout_s=b_session["heartbeat_timeout_s"])
    result = await outcome(a.request(b_id, "take your time", timeout=hold_s + 10))
    emit(
        "result",
        **result,
        heartbeats_during=during.get("after", 0) - during.get("before", 0),
        disconnects=disconnects,
        same_sessions=[a.session and a.session["session_id"], b.session and b.session["session_id"]] == sessions,
    )
    await a.close()
    await b.close()


async def tls() -> None:
    """TLS: an mTLS agent (client certificate, no token) and a token agent on an ssl context."""
    import ssl

    a_id, b_id, ca_file = os.environ["A_ID"], os.environ["B_ID"], os.environ["CA_FILE"]
    a = GatewayClient(URL, a_id, cert_file=os.environ["CERT_FILE"], key_file=os.environ["KEY_FILE"], ca_file=ca_file)
    b = GatewayClient(URL, b_id, token=os.environ["B_TOKEN"], ssl=ssl.create_default_context(cafile=ca_file))

    @a.on_message
    async def handle(message):
        return f"over TLS: {message.text}"

    session = await a.connect()
    emit("mtls_session", agent_id=session["agent"]["agent_id"], expires_at=session["expires_at"])
    await b.connect()
    emit("request", **await outcome(b.request(a_id, "hi", timeout=10)))
    # Without the private CA the gateway's certificate is not trusted: refused before any frame.
    untrusted = GatewayClient(URL, b_id, token=os.environ["B_TOKEN"], auto_reconnect=False)
    emit("untrusted", **await outcome(untrusted.connect()))
    await a.close()
    await b.close()
    emit("done")


async def cancel() -> None:
    """An A2A client cancels the task this agent works on: the handler is cancelled, the hook runs, no result goes out."""
    canceled: list[str] = []
    handler_cancelled = asyncio.Event()
    client = GatewayClient(URL, os.environ["A_ID"], token=os.environ["A_TOKEN"], handle_cancel=canceled.append)

    @client.on_message
    async def handle(message: Any) -> Any:
        emit("working", conversation_id=message.conversation_id)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            handler_cancelled.set()
            raise
        return "finished"

    await client.connect()
    emit("ready")
    await asyncio.wait_for(handler_cancelled.wait(), 15)
    for _ in range(100):
        if canceled:
            break
        await asyncio.sleep(0.05)
    emit("canceled", conversations=canceled)
    await client.close()


SCENARIOS = {"basics": basics, "bad_token": bad_token, "reconnect": reconnect, "slow_handler": slow_handler, "tls": tls, "cancel": cancel}


async def main(name: str) -> int:
    try:
        await asyncio.wait_for(SCENARIOS[name](), DEADLINE_S)
    except Exception as error:  # noqa: BLE001 - reported to the spec, which fails on it
        emit("failed", error=repr(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
