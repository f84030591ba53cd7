"""`--evm-version`: contracts built for a node that is not on Prague, and a design that needs a newer fork
refused in one line before anything is sent (instead of "invalid opcode" or a precompile answering nothing)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from l2.designs import DESIGNS, deployment_plan
from l2.errors import EvmVersionError
from l2.l1.anvil import run_anvil
from l2.l1.chain import RpcChain
from l2.l1.compiler import PROJECT_ROOT, cache_name, compile_project
from l2.l1.deploy import deploy_all
from l2.l1.evm import EVM_VERSIONS, EvmRequirement, check_requirements, older
from l2.l1.hardhat import run_hardhat

PRAGUE_ONLY = EvmRequirement("prague", "EIP-2537 BLS12-381 precompiles", "a BLS design")
CANCUN = EvmRequirement("cancun", "EIP-1153 transient storage", "a locked design")


def l2(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "l2", *args], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


# --- the rules, without a node ---------------------------------------------------------------------

def test_a_build_is_refused_for_a_node_on_an_older_fork_and_a_design_for_an_older_build():
    check_requirements([CANCUN], "cancun", "cancun")
    check_requirements([CANCUN, PRAGUE_ONLY], "prague", "prague")
    check_requirements([PRAGUE_ONLY], "prague", None)  # a node no probe could read: only the build is checked
    with pytest.raises(EvmVersionError, match=r"^node X runs cancun but the contracts are built for prague: "
                                              r"pass --evm-version cancun$"):
        check_requirements([], "prague", "cancun", "node X")
    with pytest.raises(EvmVersionError, match=r"^a BLS design: needs prague \(EIP-2537 BLS12-381 precompiles\) and "
                                              r"cannot be built for cancun; use a node on prague and "
                                              r"--evm-version prague$"):
        check_requirements([CANCUN, PRAGUE_ONLY], "cancun", "prague")
    assert [older(a, b) for a, b in (("shanghai", "cancun"), ("cancun", "prague"), ("prague", "prague"))] == \
        [True, True, False]


def test_an_unknown_evm_version_is_refused_by_name():
    with pytest.raises(EvmVersionError, match=r"unknown EVM version 'osaka': choose one of shanghai, cancun, prague"):
        EvmRequirement("osaka")
    with pytest.raises(EvmVersionError, match="unknown EVM version 'paris'"):
        compile_project(evm_version="paris")
    usage = l2("compile", "--evm-version", "paris")
    assert usage.returncode == 2 and "invalid choice: 'paris'" in usage.stderr


def test_each_design_says_which_fork_it_needs_and_its_contracts_carry_it_into_the_plan():
    plan = {spec.name: spec.evm for spec in deployment_plan()}
    for design in DESIGNS:
        assert design.evm.version in EVM_VERSIONS
        for spec in design.contracts:
            assert (plan[spec.name].version, plan[spec.name].reason, plan[spec.name].who) == \
                (design.evm.version, design.evm.reason, design.title)
    assert plan["ChannelRegistry"].version == plan["Adjudicator"].version == "cancun"  # transient storage
    assert needing_prague(), "the optimistic rollup's BLS signatures use EIP-2537's precompiles"


def needing_prague():
    return [d for d in DESIGNS if d.evm.version == "prague"]


# --- a build for Cancun, on nodes not on Prague -------------------------------------------------------

@pytest.fixture(scope="module")
def cancun_anvil():
    with run_anvil(extra_args=("--hardfork", "cancun")) as node:
        yield node.url


def test_the_cancun_build_has_its_own_cache_and_targets_cancun(tmp_path):
    cancun = compile_project(evm_version="cancun")
    prague = compile_project()
    assert (cancun.evm_version, prague.evm_version) == ("cancun", "prague")
    assert cancun.cache_key != prague.cache_key and cancun.settings_hash != prague.settings_hash
    assert (cache_name("cancun"), cache_name("prague")) == ("artifacts-cancun.json", "artifacts.json")
    assert (PROJECT_ROOT / "build" / "artifacts-cancun.json").exists()


@pytest.mark.parametrize("runner, version", [
    (lambda: run_anvil(extra_args=("--hardfork", "cancun")), "cancun"),
    (lambda: run_anvil(extra_args=("--hardfork", "shanghai")), "shanghai"),
    (lambda: run_hardhat(hardfork="cancun"), "cancun"),
])
def test_a_nodes_fork_is_read_from_what_it_runs(runner, version):
    with runner() as node:
        chain = RpcChain(node.url)
        assert chain.node_evm_version == version
        chain.close()


def test_both_prague_nodes_read_as_prague(node_chain):
    assert node_chain.node_evm_version == "prague"


def test_the_designs_that_do_not_need_prague_deploy_and_run_on_a_cancun_node(cancun_anvil):
    chain = RpcChain(cancun_anvil, evm_version="cancun")
    plan = [spec for spec in deployment_plan() if not older("cancun", spec.evm.version)]
    assert {"ChannelRegistry", "Adjudicator"} <= {spec.name for spec in plan}
    assert not {spec.name for d in needing_prague() for spec in d.contracts} & {spec.name for spec in plan}
    results, manifest = deploy_all(chain, plan=plan)
    assert [r.name for r in results] == [spec.name for spec in plan]
    assert all(chain.w3.eth.get_code(r.record["address"]) for r in results)
    # A token channel opens: the registry's pull runs under its transient lock (TSTORE/TLOAD, Cancun's).
    alice, bob = chain.accounts[1], chain.accounts[2]
    token = chain.contract("TestToken", manifest["contracts"]["TestToken"]["address"])
    registry = chain.contract("ChannelRegistry", manifest["contracts"]["ChannelRegistry"]["address"])
    chain.transact(token.functions.mint(alice.address, 10**18), alice)
    chain.transact(token.functions.approve(registry.address, 10**18), alice)
    receipt = chain.transact(registry.functions.open(bob.address, token.address, 3600, 10**18), alice)
    assert receipt.status == 1 and chain.call(token.functions.balanceOf(registry.address)) == 10**18
    chain.close()


def test_a_design_that_needs_prague_is_refused_in_one_line_before_anything_is_sent(cancun_anvil, tmp_path):
    chain = RpcChain(cancun_anvil)
    nonce = chain.w3.eth.get_transaction_count(chain.accounts[0].address)
    out = tmp_path / "m.json"
    built_for_cancun = one_line_error(l2("deploy", "--rpc-url", cancun_anvil, "--evm-version", "cancun",
                                         "--out", str(out)))
    first = needing_prague()[0]  # the plan is in registry order, and so is the check
    assert re.fullmatch(rf"error: {re.escape(first.title)}: needs prague \({re.escape(first.evm.reason)}\) and cannot "
                        r"be built for cancun; use a node on prague and --evm-version prague", built_for_cancun)
    default_build = one_line_error(l2("deploy", "--rpc-url", cancun_anvil, "--out", str(out)))
    assert re.fullmatch(rf"error: anvil/\S+ at {cancun_anvil} \(chain id 31337\) runs cancun but the contracts are "
                        r"built for prague: pass --evm-version cancun", default_build)
    shanghai = one_line_error(l2("deploy", "--evm-version", "shanghai"))  # the embedded chain, before any compile
    assert shanghai.startswith("error: payment channels: needs cancun (EIP-1153 transient storage")
    assert chain.w3.eth.get_transaction_count(chain.accounts[0].address) == nonce and not out.exists()
    chain.close()
