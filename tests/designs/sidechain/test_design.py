"""The sidechain through the `Design` interface, with real validator processes on 127.0.0.1 and the embedded
Layer 1 behind the gateway: the compare workload conserves every wei (the validators' checkpoint fees
counted, their gas money swept back), the gas-report scenario runs, the demo act tells its story (a
contract deployed and called on the sidechain, an exit, an equivocator slashed on Layer 1), and
`l2 sidechain up` starts validators that serve JSON-RPC and checkpoint, then stops them all."""

from __future__ import annotations

import io
import random
import re
import signal
import subprocess
import sys
import time

import pytest
from rich.console import Console
from web3 import Web3

from l2.commands.compare import make_workload, run_design
from l2.designs.api import Story
from l2.designs.sidechain.design import DESIGN
from l2.l1.accounts import cast, unit_for
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.deploy import FOUNDATION_PLAN, deploy_all


@pytest.fixture
def deployed(chain):
    results, _ = deploy_all(chain, plan=[*FOUNDATION_PLAN, *DESIGN.contracts])
    return {r.name: r.record["address"] for r in results}


def test_the_compare_workload_conserves_every_wei_with_checkpoint_fees_counted(chain, deployed, tmp_path):
    unit = unit_for(chain)
    workload = make_workload(12, seed=7, deposit=unit)
    accounts = cast(chain, 3 * unit, users=workload.participants)
    row = run_design(DESIGN, chain, deployed, workload, accounts, tmp_path)  # raises ConservationError otherwise
    assert row.conserved and row.payments == 12 and row.payment_final_s == 0
    assert row.enter_gas > 4 * 30_000  # four deposits
    assert row.exit_gas > 0 and row.l1_transactions >= 4 + 4 + 1  # deposits, exits, at least one checkpoint
    # Every Layer-1 transaction of the validators' accounts was counted and their gas money swept back.
    manager = chain.contract("StakeManager", deployed["StakeManager"])
    assert manager.functions.epoch().call() >= 1


def test_a_used_stake_manager_is_not_reused_the_session_deploys_its_own(chain, deployed, tmp_path):
    from l2.designs.sidechain.session import Sidechain

    with Sidechain(chain, tmp_path / "a", addresses=deployed, validators=1) as first:
        assert not first.own_contracts
        first.wait_checkpoint(1)
    with Sidechain(chain, tmp_path / "b", addresses=deployed, validators=1) as second:
        assert second.own_contracts and second.l1.stake_manager.address != deployed["StakeManager"]
    assert first.cluster is None and second.cluster is None  # closed: processes stopped


def test_the_gas_report_scenario_sends_every_bridge_path(chain):
    (scenario,) = DESIGN.scenarios()
    with chain.record() as txs:
        scenario.run(chain)
    functions = {t.function for t in txs if t.contract in ("StakeManager", "DepositManager")}
    assert {"stake", "depositEther", "submitCheckpoint", "exit", "slashDoubleVote", "unstake",
            "withdrawStake"} <= functions
    assert all(t.status == 1 for t in txs)


def test_the_demo_act_deploys_a_contract_exits_and_gets_an_equivocator_slashed_on_layer1(chain, deployed):
    from eth._utils.address import generate_contract_address

    from l2.designs.sidechain.demo import MINTED
    from l2.designs.sidechain.session import VALIDATOR_STAKE
    from l2.l1.accounts import named_accounts

    unit = unit_for(chain)
    accounts = {"operator": cast(chain, unit)["operator"], **named_accounts(chain, ("alice", "bob"), 5 * unit)}
    out = io.StringIO()
    story = Story(chain, Console(file=out, width=200), random.Random(1), deployed, accounts, unit, 5, 4)
    before = sum(chain.balance(a.address) for a in accounts.values()) + sum(chain.balance(a) for a in deployed.values())
    with chain.record() as txs:
        made = DESIGN.demo(story)
    after = sum(chain.balance(a.address) for a in accounts.values()) + sum(chain.balance(a) for a in deployed.values())
    assert made == 5
    # The validators' fees counted (the slash among them), their rest and the reporter's reward swept back.
    assert before == after + sum(t.fee_wei for t in txs)
    text = " ".join(out.getvalue().split())  # rich wraps long lines at a space
    assert "conservation: locked on Layer 1" in text and "checkpoint" in text
    # The contract: alice's creation after her 5 payments, read back with eth_call.
    created = re.search(r"it is at (0x[0-9a-fA-F]{40}) from block \d+; .* reads back ([\d,]+) SIDE", text)
    assert created is not None, text
    alice = bytes.fromhex(accounts["alice"].address[2:])
    assert created[1] == Web3.to_checksum_address(generate_contract_address(alice, 5))
    assert int(created[2].replace(",", "")) * 10**18 == MINTED
    # The equivocator, as Layer 1 has it: one Slashed, its whole stake taken, the reporter another validator.
    manager = chain.contract("StakeManager", deployed["StakeManager"])
    (slashed,) = [log.args for log in manager.events.Slashed().get_logs(from_block=0)]
    validators = {log.args.signer for log in manager.events.ValidatorSetChanged().get_logs(from_block=0)}
    assert slashed.signer in validators and slashed.reporter in validators - {slashed.signer}
    assert slashed.amount == VALIDATOR_STAKE and manager.functions.votingPower(slashed.signer).call() == 0
    stake, _, _, status = manager.functions.validators(slashed.signer).call()
    assert stake == 0 and status == 4  # Status.Slashed
    assert manager.functions.burned().call() == slashed.amount - slashed.reward > 0
    (report,) = [t for t in txs if t.function == "slashDoubleVote"]
    assert report.status == 1 and f"slashDoubleVote, {report.gas_used:,} gas" in text


def _l2(*args, **kwargs):
    """`l2 sidechain ...` through the design's own entry point (the same add_arguments and run as under `l2`
    once the registry lists the sidechain)."""
    assert args[0] == "sidechain"
    return subprocess.Popen([sys.executable, "-m", "l2.designs.sidechain.cli", *args[1:]], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_sidechain_up_serves_json_rpc_checkpoints_and_stops_every_validator_on_ctrl_c(tmp_path):
    process = _l2("sidechain", "up", "--validators", "2", "--workdir", str(tmp_path))
    try:
        urls, deadline = [], time.monotonic() + 90
        assert process.stdout is not None
        while len(urls) < 2 and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            urls += re.findall(r"validator \d 0x[0-9a-fA-F]{40} (http://127\.0\.0\.1:\d+)", line)
        w3 = Web3(Web3.HTTPProvider(urls[1], request_kwargs={"timeout": 5}))
        assert w3.eth.chain_id == 901
        start = w3.eth.block_number
        while w3.eth.block_number < start + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert w3.eth.block_number >= start + 3
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped 2 validators" in out
    for url in urls:  # every validator's JSON-RPC is gone with its process
        assert not Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected()
    logs = sorted(tmp_path.glob("validator*.log"))
    assert len(logs) == 2 and all(log.read_text() for log in logs)


@pytest.mark.parametrize("args, message", [
    (["--validators", "0"], "--validators must be between 1 and 30, got 0"),
    (["--seconds", "-1"], "--seconds must be 0 (until Ctrl-C) or more, got -1"),
])
def test_sidechain_up_bad_input_is_one_line(args, message):
    process = _l2("sidechain", "up", *args)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err.strip().splitlines() == [f"error: {message}"]


def test_the_sandbox_service_tells_a_validator_down_once_and_status_counts_checkpoints(chain, deployed, tmp_path):
    from l2.designs.sidechain.sandbox import ClusterService
    from l2.designs.sidechain.session import Sidechain

    with Sidechain(chain, tmp_path, addresses=deployed, validators=2) as sc:
        service = ClusterService(sc)
        assert service.step() == []
        sc.wait_checkpoint(1)
        assert cluster_lines(sc.status()) == 2
        assert re.search(r"sidechain: [1-9]\d* checkpoints on Layer 1, up to block \d+", sc.status()[-1])
        assert sc.cluster is not None
        sc.cluster.kill(1)
        (event,) = service.step()
        assert str(event).startswith("[sidechain] validator 1 is down: see ")
        assert service.step() == []  # told once
        assert sc.status()[1].endswith(": down")


def cluster_lines(lines: list[str]) -> int:
    return sum(1 for line in lines if line.startswith("validator "))
