"""Moves between processes: one JSON object per line over loopback TCP (127.0.0.1 only).

Every wait has a deadline and every read a size limit, so a silent or flooding peer costs a bounded time
and memory (`TransportError`), never a hang.
"""

from __future__ import annotations

import json
import socket
import time

from l2.designs.statechannels.errors import TransportError

HOST = "127.0.0.1"
MAX_MESSAGE = 64 * 1024  # bytes in one line; a move is well under 2 KiB


class Connection:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def send(self, message: dict) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"cannot send to the peer: {exc}") from None

    def receive(self, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(f"no message from the peer within {timeout} s")
            if len(self.buffer) > MAX_MESSAGE:
                raise TransportError(f"the peer sent more than {MAX_MESSAGE} bytes without a message end")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                raise TransportError(f"the connection to the peer failed: {exc}") from None
            if not chunk:
                raise TransportError("the peer closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > MAX_MESSAGE:
            raise TransportError(f"a message of {len(line)} bytes is past the {MAX_MESSAGE}-byte limit")
        try:
            message = json.loads(line)
        except ValueError:
            raise TransportError("the peer sent a line that is not JSON") from None
        if not isinstance(message, dict):
            raise TransportError("the peer sent JSON that is not an object")
        return message

    def close(self) -> None:
        self.sock.close()


class Listener:
    """A listening socket on 127.0.0.1 (`port` 0: any free one, see `.port`)."""

    def __init__(self, port: int = 0):
        self.sock = socket.create_server((HOST, port))
        self.port = self.sock.getsockname()[1]

    def accept(self, timeout: float = 10.0) -> Connection:
        self.sock.settimeout(timeout)
        try:
            conn, _ = self.sock.accept()
        except TimeoutError:
            raise TransportError(f"no peer connected within {timeout} s") from None
        return Connection(conn)

    def close(self) -> None:
        self.sock.close()


def dial(port: int, timeout: float = 10.0) -> Connection:
    """Connect to a peer on 127.0.0.1, retrying until `timeout` (the peer may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Connection(socket.create_connection((HOST, port), timeout=max(0.1, deadline - time.monotonic())))
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise TransportError(f"cannot reach a peer on {HOST}:{port}: {exc}") from None
            time.sleep(0.05)
