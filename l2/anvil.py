"""Start and stop a local anvil node (the npm package @foundry-rs/anvil-linux-amd64).

Used by the tests to prove everything also works against a real node over
JSON-RPC, and by anyone who wants a throw-away dev chain: `with start_anvil() as url: ...`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from l2.compiler import PROJECT_ROOT
from l2.errors import ChainConnectionError, ToolMissingError

ANVIL_BINARY = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return "result" in json.loads(response.read())
    except OSError:
        return False


@contextlib.contextmanager
def start_anvil(binary: Path = ANVIL_BINARY, startup_timeout: float = 30.0, extra_args: tuple[str, ...] = ()):
    """Run anvil on 127.0.0.1 at a free port until the block exits; yields its URL."""
    if not binary.exists():
        raise ToolMissingError(f"anvil is not installed at {binary}: run `npm ci` (or `make`)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while not _answers(url):
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace").strip()
                raise ChainConnectionError(f"anvil exited with code {process.returncode}: {err[:300]}")
            if time.monotonic() > deadline:
                raise ChainConnectionError(f"anvil did not answer on {url} within {startup_timeout:.0f}s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
