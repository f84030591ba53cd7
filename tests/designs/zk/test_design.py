"""The zk-rollup's DESIGN in the registry: tests/test_designs.py runs its demo, gas-report scenarios and compare
workload with every registered design's (on the circuit of L2_ZK_SHAPE, set by tests/conftest.py); here what is
its own: its metrics, and a sandbox part that proves nothing until a wallet is used."""

from __future__ import annotations

import os
import subprocess
import sys

from l2.designs import DESIGNS
from l2.designs.zk.design import DESIGN
from l2.l1.compiler import PROJECT_ROOT


def test_the_design_is_registered_says_what_it_trusts_and_has_its_folders():
    assert DESIGN.name == "zk" and DESIGN.title and len(DESIGN.trust) > 20 and DESIGN.contracts
    assert (PROJECT_ROOT / "contracts" / "zk").is_dir() and (PROJECT_ROOT / "tests" / "designs" / "zk").is_dir()
    assert [d for d in DESIGNS if d.name == "zk"] == [DESIGN]


def test_without_its_tools_the_registry_leaves_it_out_and_says_why(tmp_path):
    """As in a wheel installed without node (or without the checkout's circuits/): the commands run the others."""
    script = ("import l2.designs as r\nprint([d.name for d in r.DESIGNS])\n"
              "try:\n    r.design('zk')\nexcept Exception as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                            env={**os.environ, "PATH": str(tmp_path)}, timeout=60)  # no node on it
    assert result.returncode == 0, result.stderr
    names, error = result.stdout.splitlines()
    assert "zk" not in names and "channels" in names
    assert error == "the design 'zk' cannot run here: node is not on PATH (circom2 runs on Node.js)"


def test_metrics_are_named_after_the_design():
    benchmarks = DESIGN.benchmarks()
    names = {m.name for b in benchmarks for m in b.metrics}
    assert all(n.startswith("zk.") for n in names)
    assert {"zk.verify_gas", "zk.constraints_per_transfer", "zk.prove_s_per_transfer", "zk.withdraw_latency_s",
            "zk.gas_per_transfer_batch4", "zk.gas_per_transfer_batch16", "zk.gas_per_transfer_batch64"} <= names


def test_the_sandbox_part_proves_nothing_until_a_wallet_is_used(chain):
    from l2.commands.sandbox import Sandbox

    with Sandbox.running(chain, tick=3600) as sandbox:
        names, unit = sandbox.namespace(), sandbox.unit
        alice, bob, carol, rollup = names["alice_zk"], names["bob_zk"], names["carol_zk"], names["zk_rollup"]
        part = next(p for p in sandbox.parts if "zk_operator" in p.objects)
        sandbox.step()  # nothing waits: no batch
        assert rollup.batch_count() == 0 and rollup.queued() == [] and part.cells("alice", alice.address) == ["-"]
        alice.pay(bob, unit)  # registers both through the queue; the payment is accepted on top of it
        alice.withdraw(unit)
        assert (alice.balance(), bob.balance(), carol.balance()) == (8 * unit, 11 * unit, 0)
        sandbox.step()  # one proof: both registrations, the payment and the withdrawal
        assert rollup.batch_count() == 1 and rollup.queued() == [] and carol.index == 0
        assert bob.balance() == 11 * unit and alice.balance() == 8 * unit
        alice.claim()
        assert "1 proven batch" in part.status()[0] and part.cells("alice", alice.address) == ["8.0000 ETH"]
