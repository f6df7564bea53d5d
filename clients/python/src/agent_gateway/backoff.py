"""Reconnection delays: exponential backoff with full jitter, as the TypeScript SDK does."""

from __future__ import annotations

import random as _random
from typing import Callable


def full_jitter_delay(
    attempt: int,
    base: float,
    cap: float,
    *,
    retry_after: float | None = None,
    random: Callable[[], float] = _random.random,
) -> float:
    """The delay in seconds before reconnect attempt ``attempt`` (0 for the first retry).

    Uniform in ``[0, min(cap, base * 2**attempt)]`` (AWS, "Exponential Backoff And Jitter"), so a
    fleet of agents that lost the gateway together does not come back together; never less than
    ``retry_after`` (the gateway's ``retry_after_ms`` of a ``RATE_LIMIT``, in seconds).

    Example::

        full_jitter_delay(3, base=0.5, cap=30)  # somewhere in 0..4 s
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must be >= 0")
    ceiling = min(cap, base * float(2 ** min(attempt, 30)))
    delay = random() * ceiling
    return max(delay, retry_after or 0.0)
