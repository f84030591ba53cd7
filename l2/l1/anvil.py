"""Start and stop a local anvil node (the npm package @foundry-rs/anvil-linux-amd64).

Used by the tests to prove everything also works against a real node over
JSON-RPC, and by `l2 sandbox --anvil` / `l2 demo --anvil` for a throw-away dev
chain that other tools (cast, a wallet) can reach: `with start_anvil() as url: ...`.
`$ANVIL_BINARY` points at another anvil (a Foundry install, say).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from l2.errors import ChainConnectionError, ToolMissingError
from l2.l1.compiler import PROJECT_ROOT

ANVIL_BINARY = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
_PR_SET_PDEATHSIG = 1


def anvil_binary() -> Path:
    return Path(os.environ.get("ANVIL_BINARY") or ANVIL_BINARY)


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


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends anvil SIGTERM when we die, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class AnvilNode:
    url: str
    pid: int


@contextlib.contextmanager
def run_anvil(binary: Path | None = None, startup_timeout: float = 30.0, extra_args: tuple[str, ...] = (),
              port: int | None = None):
    """Run anvil on 127.0.0.1 (at `port`, or a free one) until the block exits; yields an AnvilNode."""
    binary = binary or anvil_binary()
    if not binary.exists():
        raise ToolMissingError(f"anvil is not installed at {binary}: run `make setup` (npm ci) or set ANVIL_BINARY")
    if port is not None and not _port_is_free(port):
        raise ChainConnectionError(f"cannot start anvil: 127.0.0.1:{port} is already in use")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,
        # Its own process group: a Ctrl-C at our terminal reaches us, and we stop anvil in order.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while not _answers(url):
            if process.poll() is not None:
                assert process.stderr is not None  # opened as a pipe above
                err = process.stderr.read().decode(errors="replace").strip()
                raise ChainConnectionError(f"anvil exited with code {process.returncode}: {err[:300]}")
            if time.monotonic() > deadline:
                raise ChainConnectionError(f"anvil did not answer on {url} within {startup_timeout:.0f}s")
            time.sleep(0.05)
        yield AnvilNode(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def start_anvil(binary: Path | None = None, startup_timeout: float = 30.0, extra_args: tuple[str, ...] = (),
                port: int | None = None):
    """Like `run_anvil`, yielding only the URL."""
    with run_anvil(binary, startup_timeout, extra_args, port) as node:
        yield node.url


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
