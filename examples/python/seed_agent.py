#!/usr/bin/env python3
"""The seed's client (Gateway API reference, "Client 配置"), on the Python SDK: connect, answer
every message, stay up (heartbeats and reconnects are the SDK's) until SIGINT or SIGTERM.

    PYTHONPATH=clients/python/src AGENT_TOKEN=agt_... python3 examples/python/seed_agent.py

GATEWAY_URL (default ws://localhost:8700), AGENT_ID (default my-agent-001) and CAPABILITIES
(default search,analyze: a subset of the agent's registered ones) can be set in the environment.
"""
import asyncio
import os
import signal
import sys

try:
    from agent_gateway import GatewayClient, GatewayError
except ImportError:  # run from a checkout without PYTHONPATH: use the SDK next door
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
    from agent_gateway import GatewayClient, GatewayError

client = GatewayClient(
    gateway_url=os.environ.get("GATEWAY_URL", "ws://localhost:8700"),
    agent_id=os.environ.get("AGENT_ID", "my-agent-001"),
    agent_name="My Agent",
    capabilities=os.environ.get("CAPABILITIES", "search,analyze").split(","),
    token=os.environ.get("AGENT_TOKEN"),
    auto_reconnect=True,
    reconnect_interval=5,
)


@client.on_message
async def handle(message):
    # The return value becomes the result the sender awaits; an exception becomes AGENT_ERROR.
    return {"answer": 42, "question": message.text}


@client.on_connected
def connected(session):
    print(f"[seed_agent] connected as {session['agent']['agent_id']} (session {session['session_id']})", flush=True)


@client.on_disconnected
def disconnected(reason, info):
    print(f"[seed_agent] disconnected: {reason} (reconnect: {info.reconnect})", flush=True)


async def main():
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(client.close()))
    try:
        await client.connect()
    except GatewayError as error:
        print(f"[seed_agent] refused: {error}", flush=True)
        return 1
    await client.wait_closed()
    print("[seed_agent] closed", flush=True)
    return 0 if client.last_error is None else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
