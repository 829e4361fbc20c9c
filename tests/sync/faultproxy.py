"""A fault-injecting TCP proxy on loopback, between the sync worker and the backend (tests only).

Modes (``proxy.mode = ...``, effective for the next chunk a client sends, also on kept-alive
connections): ``pass``; ``slow`` (each chunk waits ``proxy.delay`` s both ways); ``error500``
(answers ``500`` itself); ``retry_after`` (``503`` with ``Retry-After: 1``); ``hang`` (reads, never
answers); ``reset`` (closes with a TCP RST). Runs its own asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading

ERROR_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
    b"content-length: 49\r\nconnection: close\r\n\r\n"
    b'[{"code": 500, "description": "injected failure"}]'
)
RETRY_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
    b"content-length: 45\r\nconnection: close\r\n\r\n"
    b'[{"code": 503, "description": "injected busy"}]'
)
HANG_MAX_S = 120.0


class FaultProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.mode = "pass"
        self.delay = 0.3
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultproxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> int:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, TimeoutError):
            _reset(writer)
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        back = asyncio.ensure_future(self._pump_back(up_reader, writer))
        try:
            await self._pump_forward(reader, writer, up_writer)
        finally:
            back.cancel()
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()
                self._writers.discard(w)

    async def _pump_forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up_writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                chunk = await reader.read(65536)
            except (ConnectionError, OSError):
                return
            if not chunk:
                return
            mode = self.mode
            if mode == "reset":
                _reset(writer)
                return
            if mode in ("error500", "retry_after"):
                writer.write(ERROR_500 if mode == "error500" else RETRY_503)
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.drain()
                return
            if mode == "hang":
                for _ in range(int(HANG_MAX_S / 0.1)):
                    if self.mode != "hang" or reader.at_eof():
                        break
                    await asyncio.sleep(0.1)
                return  # the request is dropped: the client sees a timeout or a closed connection
            if mode == "slow":
                await asyncio.sleep(self.delay)
            up_writer.write(chunk)
            try:
                await up_writer.drain()
            except (ConnectionError, OSError):
                return

    async def _pump_back(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while True:
                chunk = await up_reader.read(65536)
                if not chunk:
                    break
                if self.mode == "slow":
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
