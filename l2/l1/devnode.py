"""Run a local development node (anvil, the Hardhat node) as a child process on 127.0.0.1.

One way to start, wait for and stop every kind of dev node: `l2.l1.anvil` and `l2.l1.hardhat` say
which program and arguments, this module owns the process. The node gets its own session (a Ctrl-C
at our terminal reaches us, and we stop the node in order) and dies with us even if we are killed.
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
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from l2.errors import ChainConnectionError

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class LocalNode:
    """A dev node this process started: where it answers, and the process to stop."""

    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def answers(url: str) -> bool:
    """Whether a JSON-RPC node at `url` answers eth_chainId (within a second)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends the node SIGTERM when we die, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def run_node(name: str, argv: Sequence[str], port: int, startup_timeout: float,
             env: Mapping[str, str] | None = None) -> Iterator[LocalNode]:
    """Start `argv` (a node that will listen on 127.0.0.1:`port`), wait until it answers, yield it, stop it.

    ChainConnectionError if it exits first (with the start of what it wrote to stderr) or does not
    answer within `startup_timeout` seconds.
    """
    url = f"http://127.0.0.1:{port}"
    # stderr to a file, not a pipe: a chatty node must never block on a pipe nobody reads while it runs.
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **env} if env else None,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not answers(url):
                if process.poll() is not None:
                    stderr.seek(0)
                    err = " ".join(stderr.read().decode(errors="replace").split())
                    raise ChainConnectionError(f"{name} exited with code {process.returncode}: {err[:300]}")
                if time.monotonic() > deadline:
                    raise ChainConnectionError(f"{name} did not answer on {url} within {startup_timeout:.0f}s")
                time.sleep(0.05)
            yield LocalNode(url, process.pid)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s: only the process we started."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
