#!/usr/bin/env python3
"""One Python requester and one Python responder on the SDK, closed loop: the requester awaits
each result before it sends the next request. Run by bench/python-pair.ts; prints one JSON line:
{"count", "errors", "req_per_s", "p50_ms", "p99_ms"}.
"""
import asyncio
import json
import os
import time

from agent_gateway import GatewayClient, GatewayError


async def main() -> None:
    url = os.environ["GATEWAY_URL"]
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    warmup = float(os.environ.get("BENCH_WARMUP_S", "1"))
    text = "x" * int(os.environ.get("BENCH_PAYLOAD_BYTES", "64"))
    responder = GatewayClient(url, os.environ["RESP_ID"], token=os.environ["RESP_TOKEN"])
    requester = GatewayClient(url, os.environ["REQ_ID"], token=os.environ["REQ_TOKEN"])

    @responder.on_message
    async def echo(message):
        return message.text

    await responder.connect()
    await requester.connect()
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    measuring_from = started + warmup
    end = measuring_from + seconds
    while (now := time.perf_counter()) < end:
        try:
            await requester.request(responder.agent_id, text, timeout=10)
        except GatewayError:
            errors += 1
            continue
        if now >= measuring_from:
            latencies.append(time.perf_counter() - now)
    elapsed = time.perf_counter() - measuring_from
    await requester.close()
    await responder.close()
    latencies.sort()

    def percentile(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 3) if latencies else 0.0

    print(json.dumps({"count": len(latencies), "errors": errors, "req_per_s": round(len(latencies) / elapsed, 1), "p50_ms": percentile(0.5), "p99_ms": percentile(0.99)}))


if __name__ == "__main__":
    asyncio.run(main())
