"""The loopback server's `At` pacing: parts leave on a fixed schedule, not after summed pauses."""

from __future__ import annotations

import socket
import time

from skipjack.testing import SSEServer
from skipjack.testing.sse_server import At, Pause, Reply


def arrival_times(server: SSEServer, reply: Reply) -> list[float]:
    """When each chunk of the body reached a raw socket client, from the first byte."""
    server.enqueue(reply)
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    times: list[float] = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        data = b""
        while b"0\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
            times.extend(time.monotonic() for _ in range(piece.count(b"tick")))
    return [t - times[0] for t in times]


def test_at_keeps_to_its_schedule_where_pauses_drift(sse_server: SSEServer) -> None:
    n, step = 40, 0.01
    scheduled = arrival_times(sse_server, Reply(body=[p for i in range(n) for p in (At(i * step), b"tick")]))
    assert len(scheduled) == n
    # No drift: the last part leaves at its time, give or take a scheduling slice.
    assert (n - 1) * step - 0.005 <= scheduled[-1] < (n - 1) * step + 0.1
    # Parts are never early.
    assert all(t >= i * step - 0.005 for i, t in enumerate(scheduled))
    paused = arrival_times(sse_server, Reply(body=[p for _ in range(n) for p in (b"tick", Pause(step))]))
    assert paused[-1] >= scheduled[-1] - 0.02  # pauses only ever add up to more
