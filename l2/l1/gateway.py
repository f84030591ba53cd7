"""Layer 1 over JSON-RPC when Layer 1 is the embedded chain: validators are separate processes, and the
embedded py-evm chain lives in the process that started them (a test, a demo). `Gateway` serves that chain
on 127.0.0.1 so each validator reaches it as it would reach any node (anvil, a public chain).

Requests go through web3's own formatters on the embedded side (`request_blocking`), so they take the same
parameters and give the same results as for an in-process caller. The embedded chain is one Python object
and not thread-safe: every use of it, the owning process's own included, holds the chain's one lock
(`EmbeddedChain.lock`).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hexbytes import HexBytes
from web3.datastructures import AttributeDict

from l2.l1.chain import EmbeddedChain
from l2.l1.reverts import revert_payload

HOST = "127.0.0.1"  # served to processes on this machine only
MAX_BODY = 4 * 1024 * 1024


def _plain(value: Any) -> Any:
    """web3's formatted results back to JSON-RPC's form: bytes as 0x-hex, integers as hex quantities."""
    if isinstance(value, (bytes, bytearray, HexBytes)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (dict, AttributeDict)):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A validator that gave up waiting (its timeout, or it was stopped) closed the connection before the
        # answer: nothing to tell, and socketserver would print a traceback into the demo's or the console's
        # output. Anything else is still printed.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Gateway:
    def __init__(self, chain: EmbeddedChain, port: int = 0):
        self.chain = chain
        # The chain's own lock: every use of the embedded chain, in this process's threads and the gateway's,
        # takes it (EmbeddedChain wraps its provider and its direct calls to eth-tester).
        self.lock = chain.lock
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the caller logs what matters
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_error(413)
                    return
                try:
                    request = json.loads(self.rfile.read(length))
                except ValueError:
                    self.send_error(400)
                    return
                reply = ([gateway.answer(r) for r in request] if isinstance(request, list)
                         else gateway.answer(request))
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _Server((HOST, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="l1-gateway", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def answer(self, request: Any) -> dict:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        rid, method, params = request.get("id"), request["method"], request.get("params") or []
        try:
            with self.lock:
                result = self.chain.w3.manager.request_blocking(method, params)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller as a JSON-RPC error
            # A revert goes back as a node reports one (code 3, the raw data), so the caller decodes the
            # contract's custom error as it would from anvil.
            payload = revert_payload(exc)
            error: dict
            if isinstance(payload, bytes):
                error = {"code": 3, "message": "execution reverted", "data": "0x" + payload.hex()}
            elif isinstance(payload, str):
                error = {"code": 3, "message": f"execution reverted: {payload}"}
            else:
                error = {"code": -32000, "message": str(exc)}
            return {"jsonrpc": "2.0", "id": rid, "error": error}
        return {"jsonrpc": "2.0", "id": rid, "result": _plain(result)}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
