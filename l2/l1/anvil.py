"""Start and stop a local anvil node (the npm package @foundry-rs/anvil-linux-amd64).

Used by the tests to prove everything also works against a real node over
JSON-RPC, and by `l2 sandbox --anvil` / `l2 demo --anvil` for a throw-away dev
chain that other tools (cast, a wallet) can reach: `with start_anvil() as url: ...`.
`$ANVIL_BINARY` points at another anvil (a Foundry install, say).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from l2.errors import ChainConnectionError, ToolMissingError
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.devnode import LocalNode, free_port, port_is_free, run_node

__all__ = ["ANVIL_BINARY", "AnvilNode", "anvil_binary", "free_port", "run_anvil", "start_anvil"]

ANVIL_BINARY = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
AnvilNode = LocalNode  # what `run_anvil` yields: (url, pid)


def anvil_binary() -> Path:
    return Path(os.environ.get("ANVIL_BINARY") or ANVIL_BINARY)


@contextlib.contextmanager
def run_anvil(binary: Path | None = None, startup_timeout: float = 30.0, extra_args: tuple[str, ...] = (),
              port: int | None = None):
    """Run anvil on 127.0.0.1 (at `port`, or a free one) until the block exits; yields an AnvilNode."""
    binary = binary or anvil_binary()
    if not binary.exists():
        raise ToolMissingError(f"anvil is not installed at {binary}: run `make setup` (npm ci) or set ANVIL_BINARY")
    if port is not None and not port_is_free(port):
        raise ChainConnectionError(f"cannot start anvil: 127.0.0.1:{port} is already in use")
    port = port or free_port()
    argv = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra_args]
    with run_node("anvil", argv, port, startup_timeout) as node:
        yield node


@contextlib.contextmanager
def start_anvil(binary: Path | None = None, startup_timeout: float = 30.0, extra_args: tuple[str, ...] = (),
                port: int | None = None):
    """Like `run_anvil`, yielding only the URL."""
    with run_anvil(binary, startup_timeout, extra_args, port) as node:
        yield node.url
