"""agent_gateway: the Python SDK of agent-gateway (contract §12).

Speaks the plain WebSocket protocol (contract §4) with the seed's client shape::

    from agent_gateway import GatewayClient, GatewayError

    client = GatewayClient(gateway_url="ws://localhost:8700", agent_id="my-agent-001", token="agt_…")

    @client.on_message
    async def handle(message):
        return {"answer": 42}

    await client.connect()
"""

from .backoff import full_jitter_delay
from .client import ClientState, DisconnectInfo, GatewayClient, MessageHandler, TokenSource, TopicHandler
from .errors import ERROR_CODES, GatewayError, is_terminal_close_code
from .frames import ContentPart, FrameError, Message, TopicMessage, connect_url, content_parts, parse_frame

__version__ = "0.1.0"

__all__ = [
    "ERROR_CODES",
    "ClientState",
    "ContentPart",
    "DisconnectInfo",
    "FrameError",
    "GatewayClient",
    "GatewayError",
    "Message",
    "MessageHandler",
    "TokenSource",
    "TopicHandler",
    "TopicMessage",
    "connect_url",
    "content_parts",
    "full_jitter_delay",
    "is_terminal_close_code",
    "parse_frame",
    "__version__",
]
