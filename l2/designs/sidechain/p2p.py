"""Validators talk over loopback TCP: one JSON object per line, every validator connected to every other.

Messages carry their own authority (proposals and votes are signed; blocks come with their commit; a
transaction with its sender's signature), so a connection needs no handshake and a message is judged by
what it says, never by the socket it came in on. Each peer gets one sender thread with a bounded queue
(a slow or dead peer loses its oldest messages, it never blocks consensus) that reconnects with a capped
backoff; each inbound connection a reader thread with a size limit per line. Only 127.0.0.1 is ever
listened on or dialled.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable

HOST = "127.0.0.1"
MAX_LINE = 8 * 1024 * 1024  # a block of the largest size the proposer makes fits well within
SEND_QUEUE = 2_000
CONNECT_TIMEOUT = 1.0
MAX_BACKOFF = 0.5


class Peer:
    """Outbound messages to one validator."""

    def __init__(self, port: int, stopping: threading.Event):
        self.port = port
        self.queue: queue.Queue[bytes] = queue.Queue(maxsize=SEND_QUEUE)
        self.stopping = stopping
        self.thread = threading.Thread(target=self._run, name=f"peer-{port}", daemon=True)
        self.thread.start()

    def send(self, line: bytes) -> None:
        while True:
            try:
                self.queue.put_nowait(line)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()  # the oldest goes: consensus re-broadcasts what still matters
                except queue.Empty:
                    pass

    def _run(self) -> None:
        backoff = 0.05
        sock: socket.socket | None = None
        pending: bytes | None = None
        while not self.stopping.is_set():
            if sock is None:
                try:
                    sock = socket.create_connection((HOST, self.port), timeout=CONNECT_TIMEOUT)
                    sock.settimeout(5.0)
                    backoff = 0.05
                except OSError:
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
            if pending is None:
                try:
                    pending = self.queue.get(timeout=0.2)
                except queue.Empty:
                    continue
            try:
                sock.sendall(pending)
                pending = None
            except OSError:
                sock.close()
                sock = None  # the peer went away; this message is retried on the next connection
        if sock is not None:
            sock.close()


class Network:
    """Our listener and our peers. `on_message(dict)` is called from reader threads."""

    def __init__(self, port: int, peer_ports: dict[str, int], on_message: Callable[[dict], None]):
        self.stopping = threading.Event()
        self.on_message = on_message
        self.server = socket.create_server((HOST, port))
        self.server.settimeout(0.2)
        self.peers = {address: Peer(p, self.stopping) for address, p in peer_ports.items()}
        self.readers: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, name="p2p-accept", daemon=True)
        self.accepter.start()

    def broadcast(self, message: dict) -> None:
        line = encode(message)
        for peer in self.peers.values():
            peer.send(line)

    def send(self, address: str, message: dict) -> None:
        peer = self.peers.get(address)
        if peer is not None:
            peer.send(encode(message))

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            reader = threading.Thread(target=self._read, args=(conn,), name="p2p-read", daemon=True)
            reader.start()
            self.readers = [r for r in self.readers if r.is_alive()] + [reader]

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(0.5)
        buffer = b""
        with conn:
            while not self.stopping.is_set():
                try:
                    chunk = conn.recv(1 << 16)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    message = decode(line)
                    if message is not None:
                        self.on_message(message)
                if len(buffer) > MAX_LINE:
                    return  # a peer that sends a line past the limit is cut off; it may reconnect

    def close(self) -> None:
        self.stopping.set()
        self.server.close()
        deadline = time.monotonic() + 2.0
        for thread in [self.accepter, *self.readers, *(p.thread for p in self.peers.values())]:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict | None:
    """A message, or None for a line that is not a JSON object (dropped: judged by content, not by sender)."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
