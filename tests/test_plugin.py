"""The pytest plugin's options and refusals, run as a user runs it: pytest in a project folder of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from l2.designs import DESIGNS
from l2.l1.compiler import PROJECT_ROOT

CHECKS = textwrap.dedent("""
    import pytest

    from l2.errors import InputError
    from l2.l1.chain import RpcChain


    def test_the_chain_is_the_one_asked_for(chain, request):
        assert isinstance(chain, RpcChain) == ({want_rpc})
        if {want_rpc}:
            assert chain.w3.provider.endpoint_uri == request.config.getoption("--l2-rpc-url") or chain.anvil


    def test_a_change_is_reverted_after_the_test_1(chain, accounts, time_travel):
        chain.send_eth(accounts.alice, accounts.bob.address, 1)
        time_travel(3600)
        pytest.nonce = chain.w3.eth.get_transaction_count(accounts.alice.address)


    def test_a_change_is_reverted_after_the_test_2(chain, accounts):
        assert chain.w3.eth.get_transaction_count(accounts.alice.address) == pytest.nonce - 1


    def test_an_unknown_design_is_refused_naming_the_registered_ones(designs):
        with pytest.raises(InputError, match="no design called 'nope': choose one of channels"):
            designs["nope"]
""")


def _pytest(tmp_path, *options: str, want_rpc: bool = False) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_checks.py").write_text(CHECKS.format(want_rpc=want_rpc))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           *options], cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_the_embedded_chain_by_default(tmp_path):
    result = _pytest(tmp_path)
    assert "4 passed" in result.stdout, result.stdout[-3000:]


def test_a_node_at_l2_rpc_url(tmp_path, anvil_url):
    result = _pytest(tmp_path, "--l2-rpc-url", anvil_url, want_rpc=True)
    assert "4 passed" in result.stdout, result.stdout[-3000:]


def test_an_anvil_started_for_the_session_with_l2_anvil(tmp_path):
    result = _pytest(tmp_path, "--l2-anvil", want_rpc=True)
    assert "4 passed" in result.stdout, result.stdout[-3000:]


def test_a_missing_contracts_folder_ends_the_session_in_one_line(tmp_path):
    result = _pytest(tmp_path, "--l2-contracts", "nowhere")
    assert result.returncode == 4
    assert "l2: --l2-contracts nowhere: no such folder" in result.stdout + result.stderr
    assert "passed" not in result.stdout and "Traceback" not in result.stdout


def test_an_unreachable_node_ends_the_session_in_one_line(tmp_path):
    result = _pytest(tmp_path, "--l2-rpc-url", "http://127.0.0.1:9")
    assert result.returncode == 4
    assert "l2: cannot reach a JSON-RPC node at http://127.0.0.1:9: connection refused" in result.stdout + result.stderr
    assert "passed" not in result.stdout


def test_the_suite_itself_runs_on_the_plugins_chain():
    from l2.testing import plugin

    conftest = (PROJECT_ROOT / "tests" / "conftest.py").read_text()
    assert "def chain(" not in conftest and "def time_travel(" not in conftest
    assert callable(plugin.chain) and callable(plugin.time_travel)


@pytest.mark.parametrize("name", [d.name for d in DESIGNS])
def test_every_registered_designs_operators_start_for_a_test_and_step(operators, designs, chain, name):
    """What the plugin gives a test of each design, in this suite (which runs on the plugin): its contracts
    on chain, its parties and operators started (funded, deposited) and one round of them without an error."""
    for contract in designs[name].contracts.values():
        assert chain.w3.eth.get_code(contract.address)
    ops = operators(name)
    assert ops.objects and ops.services
    assert operators(name) is ops  # asked twice in a test: the same operators
    ops.step()
    assert not [event for event in ops.events if "error:" in event], ops.events
