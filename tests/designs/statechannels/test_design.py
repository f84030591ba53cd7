"""State channels through the `Design` interface, beyond what `tests/test_designs.py` checks for every
registered design (scenarios, compare to the wei): its contracts deploy, its tiny demo conserves funds and
shows a watcher answering a challenge, its metrics are named after it, and it imports no command."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from l2.designs import DESIGNS, deployment_plan
from l2.designs.statechannels.design import DESIGN
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


def test_the_design_imports_no_command():
    import ast

    for path in (PROJECT_ROOT / "l2" / "designs" / "statechannels").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m.startswith("l2.commands") for m in modules), path
