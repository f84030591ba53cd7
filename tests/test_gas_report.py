"""`l2 gas-report`: gas per contract function over the scenarios, counted from real transactions."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from l2.designs.optimistic.sequencer import FAULTS
from l2.l1.compiler import PROJECT_ROOT


def gas_report(*args):
    return subprocess.run([sys.executable, "-m", "l2", "gas-report", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=600)


@pytest.fixture
def full_report(gas_report_run):
    """The real command with every scenario (run once per session, shared with the README's check)."""
    return gas_report_run


def test_report_covers_every_contract_function(full_report):
    result, report = full_report
    assert result.returncode == 0, result.stderr
    assert report["scenarios"] == ["channels", "optimistic-faults", "optimistic-bridge", "statechannels",
                                   "zk-rollup", "sidechain-bridge", "demo"]
    text = result.stdout
    for title in ("contracts/channels/ChannelRegistry.sol:ChannelRegistry",
                  "contracts/optimistic/OptimisticRollup.sol:OptimisticRollup"):
        assert title in text
    functions = {name: set(c["functions"]) for name, c in report["contracts"].items()}
    assert {"open", "deposit", "withdraw", "cooperativeClose", "close", "updateState", "settle"} <= \
        functions["ChannelRegistry"]
    assert {"depositETH", "depositToken", "requestForcedWithdrawal", "depositBond", "withdrawBond", "registerToken",
            "submitBatch", "challengeTransition", "challengeSignature", "commitChallenge", "registerKey",
            "claimWithdrawal", "claimForcedWithdrawal"} <= functions["OptimisticRollup"]
    assert re.search(r"│ challengeTransition +│ +\d+ │ +[\d,]+ │", text)
    assert "contracts/zk/ZkRollup.sol:ZkRollup" in text
    assert {"register", "deposit", "submitBatch", "claim", "activateExodus", "exit", "refundQueued"} <= \
        functions["ZkRollup"]


def test_figures_are_consistent_and_counts_are_the_scenarios(full_report):
    _, report = full_report
    for contract in report["contracts"].values():
        for f in [*contract["functions"].values(), *([contract["deployment"]] if contract["deployment"] else [])]:
            assert f["calls"] >= 1 and f["min"] <= f["median"] <= f["max"] and f["min"] <= f["mean"] <= f["max"]
    rollup = report["contracts"]["OptimisticRollup"]
    # one fraud proof per fault, plus the demo's (print_money: a transition proof); one forced withdrawal
    # claimed; one bond withdrawn
    signature_faults = {"bad_signature"}
    assert rollup["functions"]["challengeTransition"]["calls"] == len(set(FAULTS) - signature_faults) + 1
    assert rollup["functions"]["challengeSignature"]["calls"] == len(signature_faults)
    assert rollup["functions"]["claimForcedWithdrawal"]["calls"] == 1
    assert rollup["functions"]["withdrawBond"]["calls"] == 1
    assert rollup["deployment"]["calls"] == 3 and rollup["deployment"]["size"] > 10_000
    registry = report["contracts"]["ChannelRegistry"]["functions"]
    assert registry["cooperativeClose"]["calls"] == 2  # the demo's and measure_gas's
    assert registry["updateState"]["calls"] == 2  # the demo's dispute and measure_gas's
    # a commitment of a few transfers replayed (k = 128 costs 7.8 M at its worst: the bench measures it)
    assert 100_000 < rollup["functions"]["challengeTransition"]["max"] < 1_000_000


def test_one_scenario_on_anvil_costs_what_it_costs_on_the_embedded_chain(tmp_path):
    embedded, anvil = tmp_path / "embedded.json", tmp_path / "anvil.json"
    assert gas_report("--scenario", "channels", "--json", str(embedded)).returncode == 0
    result = gas_report("--scenario", "channels", "--anvil", "--json", str(anvil))
    assert result.returncode == 0, result.stderr
    here, there = (json.loads(p.read_text())["contracts"] for p in (embedded, anvil))
    assert set(here) == set(there) == {"ChannelRegistry", "ChannelReentrantReceiver"}
    # The same functions and calls; the gas differs only by calldata bytes: signatures change with the chain id
    # (it is in every EIP-712 domain) and expiries with the clock, so some bytes are zero on one chain only.
    for contract in here:
        assert here[contract]["functions"].keys() == there[contract]["functions"].keys()
        for fn, figures in here[contract]["functions"].items():
            other = there[contract]["functions"][fn]
            assert figures["calls"] == other["calls"], fn
            assert abs(figures["max"] - other["max"]) <= 12 * 16, fn  # 16 bytes zero on one side only, at most
    assert here["ChannelRegistry"]["functions"]["deposit"] == there["ChannelRegistry"]["functions"]["deposit"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "everything"],
         "error: unknown scenario 'everything'; known: channels, optimistic-faults, "
                                       "optimistic-bridge, statechannels, zk-rollup, sidechain-bridge, demo"),
        (["--json", "/proc/gas.json"], "error: cannot write /proc/gas.json"),
    ],
)
def test_bad_input_is_one_line_before_anything_runs(args, message):
    result = gas_report(*args)
    assert result.returncode == 1
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
    assert "running" not in result.stdout
