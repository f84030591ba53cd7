"""Every registered design, through the same interface: it deploys, tells a tiny demo, runs its gas-report
scenarios and the compare workload with funds conserved to the wei, and names its metrics after itself.
And the layering that makes "a design is one folder" true: no command imports a design package, no
design imports a command."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from rich.console import Console

from l2.commands.compare import make_workload, run_design
from l2.designs import DESIGNS, deployment_plan, design
from l2.errors import InputError
from l2.l1.accounts import cast, unit_for
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.deploy import deploy_all

NAMES = [d.name for d in DESIGNS]


@pytest.fixture(scope="module")
def deployed(chain):
    """The whole deployment plan, once for the module, on a snapshot of its own."""
    snapshot = chain.snapshot()
    results, _ = deploy_all(chain, plan=deployment_plan())
    yield {r.name: r.record["address"] for r in results}
    chain.revert(snapshot)


def test_names_are_unique_and_every_design_says_what_it_trusts():
    assert len(set(NAMES)) == len(NAMES) and {"channels", "optimistic"} <= set(NAMES)
    for d in DESIGNS:
        assert d.title and len(d.trust) > 20 and d.contracts
        assert (PROJECT_ROOT / "contracts" / d.name).is_dir() and (PROJECT_ROOT / "tests" / "designs" / d.name).is_dir()
    with pytest.raises(InputError, match="no design called 'plasma'"):
        design("plasma")


@pytest.mark.parametrize("name", NAMES)
def test_metrics_are_named_after_the_design(name):
    benchmarks = design(name).benchmarks()
    assert benchmarks
    for bench in benchmarks:
        for metric in bench.metrics:
            assert metric.name.startswith(f"{name}."), metric.name


@pytest.mark.parametrize("name", NAMES)
def test_a_tiny_demo_of_the_design_conserves_funds(chain, name):
    from l2.commands.demo import run_demo

    summary = run_demo(chain, Console(file=io.StringIO()), part=name, payments=6, batch_size=4, seed=3)
    assert summary.conserved and [p.name for p in summary.protocols] == [design(name).title]
    assert summary.protocols[0].payments >= 6 and summary.protocols[0].l1_gas > 0


@pytest.mark.parametrize("name", NAMES)
def test_the_design_s_gas_report_scenarios_run(chain, name):
    scenarios = design(name).scenarios()
    assert scenarios and all(s.name.startswith(name) for s in scenarios)
    for scenario in scenarios:
        with chain.record() as txs:
            scenario.run(chain)
        assert txs and all(t.status == 1 for t in txs), scenario.name


@pytest.mark.parametrize("name", NAMES)
def test_the_compare_workload_runs_through_the_design_conserving_every_wei(chain, deployed, tmp_path, name):
    unit = unit_for(chain)
    workload = make_workload(8, seed=5, deposit=unit)  # the zk-rollup's test circuit proves 8 in one batch
    accounts = cast(chain, 3 * unit, users=workload.participants)
    row = run_design(design(name), chain, deployed, workload, accounts, tmp_path)  # raises unless conserved
    assert row.conserved and row.payments == 8 and row.l1_transactions > 0 and row.bytes_posted > 0
    assert row.enter_gas > 0 and row.exit_gas > 0 and row.offchain_payments_per_s > 0


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_commands_never_import_a_design_and_designs_never_import_a_command():
    root = PROJECT_ROOT / "l2"
    for path in (root / "commands").glob("*.py"):
        for module in _imports(path):
            assert not any(module.startswith(f"l2.designs.{n}") for n in NAMES), f"{path.name} imports {module}"
    for path in (root / "designs").rglob("*.py"):
        assert not any(m.startswith("l2.commands") for m in _imports(path)), f"{path} imports a command"
    for layer in ("core", "l1", "runtime"):
        for path in (root / layer).glob("*.py"):
            assert not any(m.startswith(("l2.designs", "l2.commands")) for m in _imports(path)), path
