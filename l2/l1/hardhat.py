"""Start and stop a local Hardhat node (the npm package `hardhat` 2.x, pinned in package.json).

The second real JSON-RPC node the tests run against beside anvil: another client's error shapes
(Hardhat nests revert data one level deeper), mining and snapshot methods. Its network is set in
`l2/tools/hardhat.config.js`: chain id 31337, anvil's ten dev accounts, automine, Prague unless
another hardfork is asked for. `with start_hardhat() as url: ...`.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from l2.errors import ChainConnectionError, ConfigError, ToolMissingError
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.devnode import LocalNode, free_port, port_is_free, run_node

HARDHAT_CLI = PROJECT_ROOT / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"
HARDHAT_CONFIG = Path(__file__).resolve().parents[1] / "tools" / "hardhat.config.js"
HARDFORKS = ("shanghai", "cancun", "prague")  # the ones l2 builds contracts for (see compiler.EVM_VERSIONS)

# Hardhat asks for telemetry consent on a terminal and shows banners fetched from the internet
# unless it believes it runs on CI; the node the tests start talks to nobody but us.
_QUIET = {"HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "CI": "true", "HARDHAT_HIDE_SOLIDITY_SURVEY_MESSAGE": "true"}


@contextlib.contextmanager
def run_hardhat(startup_timeout: float = 60.0, hardfork: str = "prague", port: int | None = None
                ) -> Iterator[LocalNode]:
    """Run the Hardhat node on 127.0.0.1 (at `port`, or a free one) until the block exits; yields a LocalNode."""
    if hardfork not in HARDFORKS:
        raise ConfigError(f"hardfork {hardfork!r} is not one l2 builds for: choose one of {', '.join(HARDFORKS)}")
    if not HARDHAT_CLI.exists():
        raise ToolMissingError(f"hardhat is not installed at {HARDHAT_CLI.parents[2]}: run `make setup` (npm ci)")
    node_js = shutil.which("node")
    if node_js is None:
        raise ToolMissingError("node is not on PATH: the Hardhat node needs Node.js (>= 18)")
    if port is not None and not port_is_free(port):
        raise ChainConnectionError(f"cannot start the Hardhat node: 127.0.0.1:{port} is already in use")
    port = port or free_port()
    argv = [node_js, str(HARDHAT_CLI), "--config", str(HARDHAT_CONFIG), "node",
            "--hostname", "127.0.0.1", "--port", str(port)]
    with run_node("the Hardhat node", argv, port, startup_timeout,
                  env={**_QUIET, "L2_HARDHAT_HARDFORK": hardfork}) as node:
        yield node


@contextlib.contextmanager
def start_hardhat(startup_timeout: float = 60.0, hardfork: str = "prague", port: int | None = None
                  ) -> Iterator[str]:
    """Like `run_hardhat`, yielding only the URL."""
    with run_hardhat(startup_timeout, hardfork, port) as node:
        yield node.url
