"""State channels through the `Design` interface, as `tests/test_designs.py` checks every registered design:
it deploys, tells a tiny demo that conserves funds, runs its gas-report scenarios and the compare workload
to the wei, and names its metrics after itself. Until the registry lists it, this test adds it to the
registry's list for its own duration (and takes it out again)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from l2.designs import DESIGNS, deployment_plan
from l2.designs.statechannels.design import DESIGN
from l2.l1.accounts import cast, unit_for
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.deploy import deploy_all


@pytest.fixture
def registered():
    added = DESIGN not in DESIGNS
    if added:
        DESIGNS.append(DESIGN)
    try:
        yield DESIGN
    finally:
        if added:
            DESIGNS.remove(DESIGN)


def test_the_design_says_what_it_is_and_deploys(chain, registered):
    assert DESIGN.name == "statechannels" and DESIGN.title and len(DESIGN.trust) > 20
    assert (PROJECT_ROOT / "contracts" / "statechannels").is_dir()
    names = [spec.name for spec in deployment_plan()]
    assert {"Adjudicator", "RockPaperScissors", "SingleDirectionPayment"} <= set(names)
    results, _ = deploy_all(chain, plan=deployment_plan())
    assert {r.name for r in results} >= {"Adjudicator", "RockPaperScissors", "SingleDirectionPayment"}


def test_metrics_are_named_after_the_design():
    benchmarks = DESIGN.benchmarks()
    assert benchmarks
    names = {metric.name for bench in benchmarks for metric in bench.metrics}
    assert all(name.startswith("statechannels.") for name in names)
    assert {"statechannels.moves_per_s", "statechannels.moves_per_s_durable", "statechannels.gas.exit_happy",
            "statechannels.gas.exit_disputed"} <= names


def test_a_tiny_demo_conserves_funds(chain, registered):
    from l2.commands.demo import run_demo

    out = io.StringIO()
    summary = run_demo(chain, Console(file=out, width=120), part="statechannels", payments=6, batch_size=4, seed=3)
    assert summary.conserved and [p.name for p in summary.protocols] == ["state channels"]
    assert summary.protocols[0].payments >= 6 and summary.protocols[0].l1_gas > 0
    assert "bob's watcher" in out.getvalue() and "challenge" in out.getvalue()


def test_the_gas_report_scenarios_run(chain):
    scenarios = DESIGN.scenarios()
    assert scenarios and all(s.name.startswith("statechannels") for s in scenarios)
    for scenario in scenarios:
        with chain.record() as txs:
            scenario.run(chain)
        assert txs and all(t.status == 1 for t in txs), scenario.name


def test_the_compare_workload_conserves_every_wei(chain, registered, tmp_path):
    from l2.commands.compare import make_workload, run_design

    snapshot = chain.snapshot()
    results, _ = deploy_all(chain, plan=deployment_plan())
    deployed = {r.name: r.record["address"] for r in results}
    unit = unit_for(chain)
    workload = make_workload(30, seed=5, deposit=unit)
    accounts = cast(chain, 3 * unit, users=workload.participants)
    row = run_design(DESIGN, chain, deployed, workload, accounts, tmp_path)  # raises unless conserved
    assert row.conserved and row.payments == 30 and row.l1_transactions > 0 and row.bytes_posted > 0
    assert row.enter_gas > 0 and row.exit_gas > 0 and row.offchain_payments_per_s > 0
    chain.revert(snapshot)


def test_the_design_imports_no_command():
    import ast

    for path in (PROJECT_ROOT / "l2" / "designs" / "statechannels").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m.startswith("l2.commands") for m in modules), path
