"""Start N validator processes on 127.0.0.1, wait until they serve, stop them all.

`Cluster` writes the shared configuration and one key file per validator into a work folder, starts each
validator as its own OS process (`python -m l2.designs.sidechain.node`), and waits for its ready file.
It can SIGKILL one (a crash), stop one politely, and start one again on the same database. Every wait
has a deadline; closing the cluster (or leaving its `with` block, however) stops every process it started,
escalating from SIGTERM to SIGKILL.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from eth_account import Account

from l2.designs.sidechain.bridge import BRIDGE_ADDRESS
from l2.designs.sidechain.config import ClusterConfig, L1Link, NodeSpec
from l2.designs.sidechain.consensus import Timing
from l2.designs.sidechain.errors import NodeUnavailable
from l2.designs.sidechain.execution import Genesis
from l2.designs.sidechain.messages import ZERO_ADDRESS
from l2.designs.sidechain.p2p import HOST

DEFAULT_CHAIN_ID = 901
DEFAULT_STAKE = 10**21  # 1,000 ETH each until stakes come from Layer 1
FAST_TIMING = Timing(propose=0.6, prevote=0.3, precommit=0.3, delta=0.2, block_interval=0.15, max_timeout=5.0)
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def bridge_code() -> tuple[tuple[str, bytes], ...]:
    """The genesis code of a sidechain with a bridge: SidechainBridge at its fixed address."""
    from l2.l1.compiler import compile_project

    return ((BRIDGE_ADDRESS, compile_project()["SidechainBridge"].runtime_bytecode),)


def free_ports(count: int) -> list[int]:
    """Ports the system just handed out on 127.0.0.1 (bound together, so distinct)."""
    sockets = [socket.create_server((HOST, 0)) for _ in range(count)]
    try:
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Cluster:
    def __init__(self, workdir: Path, validators: int = 4, *, chain_id: int = DEFAULT_CHAIN_ID,
                 alloc: dict[str, int] | None = None, timing: Timing = Timing(), stakes: list[int] | None = None,
                 keys: list[bytes] | None = None, start_timeout: float = 60.0, l1: L1Link | None = None,
                 code: tuple[tuple[str, bytes], ...] = ()):
        if validators < 1:
            raise ValueError("a sidechain needs at least one validator")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keys = keys or [secrets.token_bytes(32) for _ in range(validators)]
        self.addresses = [Account.from_key(k).address for k in self.keys]
        stakes = stakes or [DEFAULT_STAKE] * validators
        ports = free_ports(2 * validators)
        nodes = tuple(NodeSpec(a, s, ports[2 * i], ports[2 * i + 1])
                      for i, (a, s) in enumerate(zip(self.addresses, stakes, strict=True)))
        if l1 is not None and not code:
            code = bridge_code()
        genesis = Genesis(chain_id, int(time.time()) - 1, tuple((alloc or {}).items()), code=code)
        # With Layer 1, votes are signed under the StakeManager's domain so that it can judge evidence.
        verifying = l1.stake_manager if l1 is not None else ZERO_ADDRESS
        self.config = ClusterConfig(genesis, nodes, timing, verifying, l1)
        self.config_path = self.workdir / "cluster.json"
        self.config.save(self.config_path)
        for i, key in enumerate(self.keys):
            key_path = self.workdir / f"validator{i}.key"
            key_path.write_text(key.hex())
            key_path.chmod(0o600)
        self.start_timeout = start_timeout
        self.processes: list[subprocess.Popen | None] = [None] * validators

    # --- processes -----------------------------------------------------------------------------------

    def rpc_url(self, i: int) -> str:
        return f"http://{HOST}:{self.config.nodes[i].rpc_port}"

    def log_path(self, i: int) -> Path:
        return self.workdir / f"validator{i}.log"

    def spawn(self, i: int) -> None:
        """Start validator `i` (on its existing database, if any); returns at once (see `wait_ready`)."""
        running = self.processes[i]
        if running is not None and running.poll() is None:
            raise NodeUnavailable(f"validator {i} is already running")
        ready = self.workdir / f"validator{i}.ready"
        ready.unlink(missing_ok=True)
        log = open(self.log_path(i), "a")  # noqa: SIM115 - the child keeps it; closed with the process below
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        self.processes[i] = subprocess.Popen(
            [sys.executable, "-m", "l2.designs.sidechain.node", "--config", str(self.config_path),
             "--key-file", str(self.workdir / f"validator{i}.key"), "--db", str(self.workdir / f"validator{i}.db"),
             "--ready-file", str(ready), "--parent-pid", str(os.getpid())],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=PROJECT_ROOT, env=env,
            start_new_session=True)  # a Ctrl-C at the terminal reaches the launcher, which stops them in order
        log.close()

    def wait_ready(self, indexes: list[int] | None = None, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout)
        for i in indexes if indexes is not None else range(len(self.processes)):
            ready = self.workdir / f"validator{i}.ready"
            while not ready.exists():
                process = self.processes[i]
                if process is None or process.poll() is not None:
                    raise NodeUnavailable(f"validator {i} exited before it was ready: see {self.log_path(i)}\n"
                                          + self.log_tail(i))
                if time.monotonic() > deadline:
                    raise NodeUnavailable(f"validator {i} not ready within {timeout or self.start_timeout} s")
                time.sleep(0.05)

    def start(self) -> Cluster:
        for i in range(len(self.processes)):
            self.spawn(i)
        self.wait_ready()
        return self

    def kill(self, i: int) -> None:
        """SIGKILL: a crash, nothing flushed that was not already committed."""
        process = self.processes[i]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self, i: int, timeout: float = 5.0) -> None:
        process = self.processes[i]
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self, i: int) -> None:
        self.spawn(i)
        self.wait_ready([i])

    def alive(self, i: int) -> bool:
        process = self.processes[i]
        return process is not None and process.poll() is None

    def close(self) -> None:
        for i in range(len(self.processes)):
            process = self.processes[i]
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for i in range(len(self.processes)):
            process = self.processes[i]
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    # --- asking the validators -----------------------------------------------------------------------

    def rpc(self, i: int, method: str, params: list | None = None, timeout: float = 5.0) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        request = urllib.request.Request(self.rpc_url(i), body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                reply = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise NodeUnavailable(f"validator {i} did not answer {method}: {exc}") from None
        if "error" in reply:
            raise NodeUnavailable(f"validator {i} answered {method} with {reply['error']}")
        return reply["result"]

    def height(self, i: int) -> int:
        return int(self.rpc(i, "eth_blockNumber"), 16)

    def wait_height(self, height: int, indexes: list[int] | None = None, timeout: float = 30.0) -> dict[int, int]:
        """Until every validator in `indexes` (default: the running ones) has committed `height`."""
        indexes = indexes if indexes is not None else [i for i in range(len(self.processes)) if self.alive(i)]
        deadline = time.monotonic() + timeout
        heights: dict[int, int] = {}
        while True:
            for i in indexes:
                try:
                    heights[i] = self.height(i)
                except NodeUnavailable:
                    heights[i] = -1
            if all(h >= height for h in heights.values()):
                return heights
            if time.monotonic() > deadline:
                raise NodeUnavailable(f"height {height} not reached within {timeout} s: heights {heights}")
            time.sleep(0.05)

    def log_tail(self, i: int, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path(i).read_text().splitlines()[-lines:])
        except OSError:
            return ""
