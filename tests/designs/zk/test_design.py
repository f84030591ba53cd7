"""The zk-rollup's DESIGN through the checks tests/test_designs.py runs for registered designs (it is not
registered yet: the integrator adds "zk" to the registry), on the circuit those checks will use
(L2_ZK_SHAPE, set by tests/conftest.py)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from l2.commands import demo as demo_command
from l2.commands.compare import make_workload, run_design
from l2.designs import DESIGNS, deployment_plan
from l2.designs.zk.design import DESIGN
from l2.l1.accounts import cast, unit_for
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.deploy import deploy_all


def _plan():
    return [*deployment_plan(), *DESIGN.contracts]


@pytest.fixture(scope="module")
def deployed(chain):
    snapshot = chain.snapshot()
    results, _ = deploy_all(chain, plan=_plan())
    yield {r.name: r.record["address"] for r in results}
    chain.revert(snapshot)


def test_the_design_says_what_it_trusts_and_has_its_folders():
    assert DESIGN.name == "zk" and DESIGN.title and len(DESIGN.trust) > 20 and DESIGN.contracts
    assert (PROJECT_ROOT / "contracts" / "zk").is_dir() and (PROJECT_ROOT / "tests" / "designs" / "zk").is_dir()
    assert DESIGN.name not in [d.name for d in DESIGNS]  # registration is the integrator's change


def test_metrics_are_named_after_the_design():
    benchmarks = DESIGN.benchmarks()
    names = {m.name for b in benchmarks for m in b.metrics}
    assert all(n.startswith("zk.") for n in names)
    assert {"zk.verify_gas", "zk.constraints_per_transfer", "zk.prove_s_per_transfer", "zk.withdraw_latency_s",
            "zk.gas_per_transfer_batch4", "zk.gas_per_transfer_batch16", "zk.gas_per_transfer_batch64"} <= names


def test_a_tiny_demo_of_the_design_conserves_funds(chain, monkeypatch):
    monkeypatch.setattr(demo_command, "DESIGNS", [*DESIGNS, DESIGN])
    monkeypatch.setattr(demo_command, "deployment_plan", _plan)
    summary = demo_command.run_demo(chain, Console(file=io.StringIO()), part="zk", payments=6, batch_size=4, seed=3)
    assert summary.conserved and [p.name for p in summary.protocols] == [DESIGN.title]
    assert summary.protocols[0].payments >= 6 and summary.protocols[0].l1_gas > 0


def test_the_design_s_gas_report_scenarios_run(chain):
    scenarios = DESIGN.scenarios()
    assert scenarios and all(s.name.startswith("zk") for s in scenarios)
    for scenario in scenarios:
        with chain.record() as txs:
            scenario.run(chain)
        assert txs and all(t.status == 1 for t in txs), scenario.name


def test_the_compare_workload_runs_through_the_design_conserving_every_wei(chain, deployed, tmp_path):
    unit = unit_for(chain)
    workload = make_workload(30, seed=5, deposit=unit)
    accounts = cast(chain, 3 * unit, users=workload.participants)
    row = run_design(DESIGN, chain, deployed, workload, accounts, tmp_path)  # raises unless conserved
    assert row.conserved and row.payments == 30 and row.l1_transactions > 0 and row.bytes_posted > 0
    assert row.enter_gas > 0 and row.exit_gas > 0 and row.offchain_payments_per_s > 0


def test_the_sandbox_part_proves_nothing_until_a_wallet_is_used(chain, monkeypatch):
    from l2.commands import sandbox as sandbox_command

    monkeypatch.setattr(sandbox_command, "DESIGNS", [*DESIGNS, DESIGN])
    monkeypatch.setattr(sandbox_command, "deployment_plan", _plan)
    with sandbox_command.Sandbox.running(chain, tick=3600) as sandbox:
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
