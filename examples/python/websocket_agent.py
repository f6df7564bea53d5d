#!/usr/bin/env python3
"""An agent on the Python SDK (`agent_gateway`, clients/python), the gateway's plain WebSocket
protocol (contract 4).

It answers requests, asks its peer one question and exchanges a topic message with it, then exits
0. The SDK does the protocol: acks by id, heartbeats, reconnects with full-jitter backoff, and stops
on a terminal close code (4400-4499: revoked, unauthorized...), where this agent exits 1.

    PYTHONPATH=clients/python/src GATEWAY_URL=http://localhost:8700 AGENT_ID=py-ws \
        AGENT_TOKEN=agt_... PEER_ID=py-sio python3 examples/python/websocket_agent.py

Needs Debian's python3-websockets (or `pip install ./clients/python`).
"""
import asyncio
import json
import os
import sys
import time

try:
    from agent_gateway import GatewayClient, GatewayError
except ImportError:  # run from a checkout without PYTHONPATH: use the SDK next door
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
    from agent_gateway import GatewayClient, GatewayError

NAME = "websocket_agent"
GATEWAY_URL = os.environ.get("GATEWAY_URL", "http://localhost:8700")
AGENT_ID = os.environ["AGENT_ID"]
PEER_ID = os.environ["PEER_ID"]
TOPIC = os.environ.get("TOPIC", "demo/news")
DEADLINE = time.monotonic() + float(os.environ.get("TIMEOUT_S", "30"))


def log(text):
    print(f"[{NAME}] {text}", flush=True)


client = GatewayClient(
    gateway_url=GATEWAY_URL,
    agent_id=AGENT_ID,
    agent_name="Python websockets agent",
    token=os.environ.get("AGENT_TOKEN"),
    reconnect_interval=0.25,
    max_reconnect_interval=5,
    on_connected=lambda session: log(f"connected as {session['agent']['agent_id']} (session {session['session_id']})"),
    on_disconnected=lambda reason, info: log(f"connection lost ({info.code} {reason}); reconnect: {info.reconnect}"),
)
answered_peer = asyncio.Event()
got_topic = asyncio.Event()


@client.on_message
async def answer(message):
    log(f"{message.from_agent_id} says: {message.text}")
    if message.from_agent_id == PEER_ID:
        answered_peer.set()
    return {"echo": message.text.upper(), "by": AGENT_ID}


async def on_news(message):
    log(f"topic {message.topic} from {message.from_agent_id}: {message.text}")
    if message.from_agent_id == PEER_ID:
        got_topic.set()


async def until(attempt, what):
    """Retries while the peer is not there yet (AGENT_NOT_FOUND, no subscriber) or a reconnect is under way."""
    while True:
        if time.monotonic() > DEADLINE:
            raise TimeoutError(f"gave up waiting for {what}")
        try:
            if await attempt():
                return
        except GatewayError as error:
            if client.state == "closed":
                raise
            if error.code not in ("AGENT_NOT_FOUND", "UNAVAILABLE", "TIMEOUT"):
                log(f"{what}: {error}")
        await asyncio.sleep(0.2)


async def scenario():
    ack = await client.subscribe(TOPIC, on_news)
    log(f"subscribe {TOPIC}: {ack['status']}")

    async def ask():
        result = await client.request(PEER_ID, f"hello from {AGENT_ID}", timeout=10)
        log(f"result from {PEER_ID}: {json.dumps(result, sort_keys=True)}")
        return True

    await until(ask, f"the result from {PEER_ID}")

    async def publish():
        return (await client.publish(TOPIC, f"news from {AGENT_ID}"))["recipients"] >= 1

    await until(publish, f"a subscriber of {TOPIC}")
    for event, what in ((got_topic, f"the topic message from {PEER_ID}"), (answered_peer, f"the request of {PEER_ID}")):
        await asyncio.wait_for(event.wait(), max(0.1, DEADLINE - time.monotonic()))


async def main():
    try:
        await client.connect()
    except GatewayError as error:
        log(f"closed with {error.close_code}: not reconnecting" if error.terminal_at_connect else f"connect failed: {error}")
        return 1
    try:
        await scenario()
        log("done")
        return 0
    except (TimeoutError, asyncio.TimeoutError, GatewayError) as error:
        log(str(error) or "timed out")
        return 1
    finally:
        await client.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
