"""Shared fixtures: one embedded chain, one anvil and one Hardhat node per session, snapshot/revert per test.

Session-scoped fixtures (the chains, and the protocol packages' deployments in
their own conftest files) are set up before function-scoped ones, so the
per-test snapshot below already contains them: deploy once, revert per test.

`chain` (the embedded chain, unless --l2-rpc-url or --l2-anvil), `time_travel` and `mine` come from l2's
pytest plugin (l2/testing/plugin.py), as in any project that uses l2; `l2_isolation` below takes the place
of the plugin's snapshot to cover the real nodes too, and every test.

A test that takes `node_chain` / `node_url` runs once on each real node (`NODES`: anvil, then the
Hardhat node); one that takes `anvil_chain` / `anvil_url` runs on anvil only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# The zk-rollup's circuit at test size for every test and every command a test starts: depth 8, 8 transfers
# and 3 queue slots (253,072 constraints; one more transfer or slot crosses 2^18, where Groth16's FFTs and key
# double). A proof costs about twice one of 2 transfers and carries four times as many, which `l2 compare`'s
# 200 payments need; 3 slots take the demo's 5 registrations in 2 proofs. The demo and the bench outside the
# tests prove the deployed size (depth 20).
os.environ.setdefault("L2_ZK_SHAPE", "3,8,8")

from l2.l1.anvil import start_anvil  # noqa: E402 - after the environment it reads
from l2.l1.chain import RpcChain
from l2.l1.hardhat import start_hardhat

NODES = ("anvil", "hardhat")  # the real JSON-RPC nodes the node-generic tests run against


@pytest.fixture(scope="session")
def anvil_url():
    with start_anvil() as url:
        yield url


@pytest.fixture(scope="session")
def anvil_chain(anvil_url) -> RpcChain:
    chain = RpcChain(anvil_url)
    yield chain
    chain.close()


@pytest.fixture(scope="session")
def hardhat_url():
    with start_hardhat() as url:
        yield url


@pytest.fixture(scope="session")
def hardhat_chain(hardhat_url) -> RpcChain:
    chain = RpcChain(hardhat_url)
    yield chain
    chain.close()


@pytest.fixture(scope="session", params=NODES)
def node_name(request) -> str:
    """Which real node: session-scoped, so pytest runs every test of one node before starting on the next."""
    return request.param


@pytest.fixture(scope="session")
def node_url(node_name, request) -> str:
    return request.getfixturevalue(f"{node_name}_url")


@pytest.fixture(scope="session")
def node_chain(node_name, request) -> RpcChain:
    return request.getfixturevalue(f"{node_name}_chain")


@pytest.fixture(scope="session", autouse=True)
def _one_prover(tmp_path_factory):
    """One Groth16 prover for the session and every command it starts (L2_ZK_PROVER): each circuit's proving
    key is loaded once (~15 s at the test size), not once in every process that proves."""
    from l2.designs.zk.circuit import shared_prover

    with shared_prover(tmp_path_factory.mktemp("zk-prover") / "prover.sock"):
        yield


@pytest.fixture(scope="session")
def gas_report_run(tmp_path_factory):
    """`l2 gas-report --json` with every scenario, once per session: (completed process, figures or None)."""
    from l2.l1.compiler import PROJECT_ROOT

    out = tmp_path_factory.mktemp("gas") / "gas.json"
    result = subprocess.run([sys.executable, "-m", "l2", "gas-report", "--json", str(out)], capture_output=True,
                            text=True, cwd=PROJECT_ROOT, timeout=600)
    return result, json.loads(out.read_text()) if out.exists() else None


@pytest.fixture(autouse=True)
def l2_isolation(request, chain):
    """Every test starts from the same chain state, on each chain it uses (the plugin's fixture of this name
    snapshots `chain` only for tests that ask for it; some here reach it through getfixturevalue)."""
    chains = [chain]
    for name in ("anvil_chain", "hardhat_chain", "node_chain"):
        if name in request.fixturenames:
            node = request.getfixturevalue(name)
            if all(node is not c for c in chains):
                chains.append(node)
    snapshots = [(c, c.snapshot()) for c in chains]
    yield
    for c, snapshot_id in reversed(snapshots):
        c.revert(snapshot_id)
