"""A network receipt printer on 127.0.0.1: a real TCP server speaking the bits of
ESC/POS a spool cares about.

It records every connection (bytes received, open/close times), answers real-time
status queries (``DLE EOT n`` arriving at the end of what was received so far) with
configurable bytes, and can misbehave: stay silent, or reset the connection after a
number of job bytes (a printer unplugged mid-job).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OK_BYTE = 0x12  # DLE EOT answer: online / paper adequate
OFFLINE_BYTE = 0x12 | 0x08
PAPER_LOW_BYTE = 0x12 | 0x0C
PAPER_OUT_BYTE = 0x12 | 0x60

# answer(n, job_bytes_received_so_far) -> status byte, or None to stay silent
Answer = Callable[[int, int], int | None]


def always_ok(n: int, received: int) -> int | None:
    return OK_BYTE


@dataclass
class Session:
    opened: float
    closed: float | None = None
    data: bytearray = field(default_factory=bytearray)  # job bytes, status queries removed
    queries: list[int] = field(default_factory=list)
    first_bytes: float | None = None  # when the first byte arrived
    last_reply: float | None = None  # when the last status answer was sent


class FakeTcpPrinter:
    def __init__(self, *, answer: Answer = always_ok, reset_after: int | None = None, port: int = 0) -> None:
        self.answer = answer
        self.reset_after = reset_after
        self.sessions: list[Session] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", port))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="fake-printer", daemon=True)
        self._acceptor.start()

    @property
    def uri(self) -> str:
        return f"tcp:127.0.0.1:{self.port}?status_timeout=0.3"

    def jobs(self) -> list[bytes]:
        with self._lock:
            return [bytes(s.data) for s in self.sessions if s.data]

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        session = Session(opened=time.monotonic())
        with self._lock:
            self.sessions.append(session)
        pending = bytearray()
        conn.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                if session.first_bytes is None:
                    session.first_bytes = time.monotonic()
                pending += chunk
                if (
                    len(pending) >= 3
                    and pending[-3] == 0x10
                    and pending[-2] == 0x04
                    and pending[-1] in (1, 2, 3, 4)
                ):
                    n = pending[-1]
                    with self._lock:
                        session.data += pending[:-3]
                        session.queries.append(n)
                    pending.clear()
                    reply = self.answer(n, len(session.data))
                    if reply is not None:
                        session.last_reply = time.monotonic()  # before the client can see it
                        conn.sendall(bytes([reply]))
                if self.reset_after is not None and len(session.data) + len(pending) >= self.reset_after:
                    with self._lock:
                        session.data += pending
                    pending.clear()
                    # RST instead of FIN: what a printer that lost power looks like.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        finally:
            with self._lock:
                session.data += pending
                session.closed = time.monotonic()
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._acceptor.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)


def refused_uri() -> str:
    """A loopback port with nobody listening (bound, then released)."""
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"tcp:127.0.0.1:{port}?connect_timeout=1"
