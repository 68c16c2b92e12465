"""A thin link on loopback: a TCP proxy that delays each direction by half the round trip and
lets bytes through at a fixed rate (serialisation delay), counting the bytes each way. Used by
the transfer and soak benches in place of `tc netem` (no network namespace needed)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

BUFFER = 16384


@dataclass
class LinkCounters:
    up: int = 0  # client -> server bytes
    down: int = 0  # server -> client bytes

    def reset(self) -> None:
        self.up = self.down = 0


class ThrottledLink:
    def __init__(self, target_port: int, *, rate: float, rtt: float) -> None:
        self.target_port = target_port
        self.rate = rate  # bytes per second, each direction
        self.one_way = rtt / 2
        self.counters = LinkCounters()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        # Back-pressure as on a real link: small socket buffers on the proxy's side, so that
        # the server's writes wait for the link instead of landing at once in loopback buffers.
        for writer in (client_w, server_w):
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
        await asyncio.gather(
            self._pipe(client_r, server_w, "up"),
            self._pipe(server_r, client_w, "down"),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=2)

        async def read() -> None:
            while data := await reader.read(BUFFER):
                setattr(self.counters, direction, getattr(self.counters, direction) + len(data))
                await queue.put((loop.time(), data))
            await queue.put((loop.time(), b""))

        async def write() -> None:
            free_at = 0.0  # when the link has sent everything queued before
            while True:
                arrived, data = await queue.get()
                if not data:
                    break
                free_at = max(arrived, free_at) + len(data) / self.rate
                await asyncio.sleep(max(0.0, free_at + self.one_way - loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        await asyncio.gather(read(), write())
