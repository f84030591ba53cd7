"""scripts/deploy.py against a real node (anvil): the manifest, idempotence, a run killed and resumed, the
balance check, manifests of two nodes with one chain id, --reuse, and every bad input. The manifest and
idempotence also on the Hardhat node (`node_chain`)."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from l2.designs import deployment_plan
from l2.errors import InsufficientFundsError
from l2.l1.anvil import free_port, run_anvil
from l2.l1.compiler import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "deploy.py"


def run_deploy(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "L2_PRIVATE_KEY"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300
    )


def assert_one_line_error(result, fragment):
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_deploy_to_a_node_writes_a_correct_manifest(node_chain, node_url, tmp_path):
    out = tmp_path / "31337.json"
    result = run_deploy("--rpc-url", node_url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads(out.read_text())
    w3 = node_chain.w3
    assert manifest["chainId"] == 31337
    assert manifest["genesisHash"] == "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    assert manifest["compiler"]["version"].startswith("0.8.30")
    assert len(manifest["compiler"]["settingsHash"]) == 64
    assert set(manifest["contracts"]) == {spec.name for spec in deployment_plan()}
    for record in manifest["contracts"].values():
        receipt = w3.eth.get_transaction_receipt(record["transactionHash"])
        assert receipt.contractAddress == record["address"]
        assert receipt.blockNumber == record["blockNumber"]
        assert receipt.gasUsed == record["gasUsed"]
        assert record["deployer"] == node_chain.accounts[0].address
        code = bytes(w3.eth.get_code(record["address"]))
        assert record["runtimeCodeHash"] == "0x" + keccak(code).hex()
        assert isinstance(record["constructorArgs"], list)
    assert manifest["contracts"]["TestToken"]["constructorArgs"] == ["l2 Test Token", "L2T"]


def test_second_run_reports_unchanged_and_sends_nothing(node_chain, node_url, tmp_path):
    out = tmp_path / "m.json"
    assert run_deploy("--rpc-url", node_url, "--out", str(out)).returncode == 0
    first = json.loads(out.read_text())
    deployer = node_chain.accounts[0].address
    nonce = node_chain.w3.eth.get_transaction_count(deployer)
    block = node_chain.w3.eth.block_number

    again = run_deploy("--rpc-url", node_url, "--out", str(out))
    assert again.returncode == 0, again.stderr
    for name in first["contracts"]:
        assert f"{name}: unchanged at {first['contracts'][name]['address']}" in again.stdout
    assert node_chain.w3.eth.get_transaction_count(deployer) == nonce
    assert node_chain.w3.eth.block_number == block
    assert json.loads(out.read_text())["contracts"] == first["contracts"]

    forced = run_deploy("--rpc-url", node_url, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    redeployed = json.loads(out.read_text())["contracts"]
    assert all(redeployed[n]["address"] != first["contracts"][n]["address"] for n in first["contracts"])


def test_default_manifest_is_named_by_chain_id_and_genesis(anvil_chain, anvil_url, monkeypatch, tmp_path):
    from l2.commands import deploy
    from l2.l1 import deploy as plan

    monkeypatch.setattr(plan, "DEPLOYMENTS_DIR", tmp_path / "deployments")
    args = deploy.build_parser().parse_args(["--rpc-url", anvil_url])
    assert deploy.run_deploy(args, print_line=lambda line: None) == 0
    genesis = bytes(anvil_chain.w3.eth.get_block(0)["hash"]).hex()
    assert [p.name for p in (tmp_path / "deployments").iterdir()] == [f"31337-{genesis[:10]}.json"]


def test_embedded_dry_run_deploys_without_manifest():
    result = run_deploy()
    assert result.returncode == 0, result.stderr
    assert "embedded chain: no manifest" in result.stdout


# --- bad input: one line, exit 1, no traceback, no manifest ---------------------------------

def test_unreachable_url(tmp_path):
    out = tmp_path / "m.json"
    result = run_deploy("--rpc-url", f"http://127.0.0.1:{free_port()}", "--out", str(out))
    assert_one_line_error(result, "cannot reach a JSON-RPC node")
    assert not out.exists()


def test_missing_private_key(anvil_url, tmp_path):
    out = tmp_path / "m.json"
    result = run_deploy("--rpc-url", anvil_url, "--private-key-env", "L2_ABSENT_KEY", "--out", str(out))
    assert_one_line_error(result, "L2_ABSENT_KEY is not set")
    assert not out.exists()


@pytest.mark.parametrize("bad_key", ["0xdeadbeef", "not-a-key", "0x" + "00" * 32])
def test_malformed_private_key(anvil_url, tmp_path, bad_key):
    out = tmp_path / "m.json"
    result = run_deploy(
        "--rpc-url", anvil_url, "--private-key-env", "L2_BAD_KEY", "--out", str(out), env_extra={"L2_BAD_KEY": bad_key}
    )
    assert_one_line_error(result, "L2_BAD_KEY is not")
    assert not out.exists()


def test_too_little_eth(anvil_chain, anvil_url, tmp_path):
    poor = Account.create()
    anvil_chain.send_eth(anvil_chain.accounts[0], poor.address, 10**12)  # a microether: far too little
    out = tmp_path / "m.json"
    nonce = anvil_chain.w3.eth.get_transaction_count(poor.address)
    result = run_deploy(
        "--rpc-url", anvil_url, "--private-key-env", "POOR_KEY", "--out", str(out),
        env_extra={"POOR_KEY": poor.key.hex()},
    )
    assert_one_line_error(result, "fund it and run again")
    assert not out.exists()
    assert anvil_chain.w3.eth.get_transaction_count(poor.address) == nonce  # nothing was sent


def test_manifest_from_another_chain(anvil_url, tmp_path):
    out = tmp_path / "m.json"
    foreign = {"chainId": 11155111, "genesisHash": "0x" + "ab" * 32,
               "contracts": {"TestToken": {"address": "0x" + "11" * 20}}}
    out.write_text(json.dumps(foreign))
    result = run_deploy("--rpc-url", anvil_url, "--out", str(out))
    assert_one_line_error(result, "is for chain id 11155111, but the node is chain id 31337")
    assert json.loads(out.read_text()) == foreign  # untouched


def test_manifest_of_a_restarted_chain_needs_force(anvil_url, tmp_path):
    out = tmp_path / "m.json"
    stale = {"chainId": 31337, "genesisHash": "0x" + "cd" * 32, "contracts": {}}
    out.write_text(json.dumps(stale))
    result = run_deploy("--rpc-url", anvil_url, "--out", str(out))
    assert_one_line_error(result, "pass --force")
    assert json.loads(out.read_text()) == stale


def test_corrupt_manifest(anvil_url, tmp_path):
    out = tmp_path / "m.json"
    out.write_text("{not json")
    result = run_deploy("--rpc-url", anvil_url, "--out", str(out))
    assert_one_line_error(result, "is not valid JSON")
    assert out.read_text() == "{not json"


def test_unwritable_manifest_path_is_refused_before_deploying(anvil_chain, anvil_url, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    deployer = anvil_chain.accounts[0].address
    nonce = anvil_chain.w3.eth.get_transaction_count(deployer)
    result = run_deploy("--rpc-url", anvil_url, "--out", str(blocker / "m.json"))
    assert_one_line_error(result, "cannot write")
    assert anvil_chain.w3.eth.get_transaction_count(deployer) == nonce  # nothing was sent


# --- two local nodes with the same chain id ----------------------------------------------------

def _deploy_in_process(url, print_line=lambda line: None, *extra):
    from l2.commands import deploy

    return deploy.run_deploy(deploy.build_parser().parse_args(["--rpc-url", url, *extra]), print_line=print_line)


def test_two_anvils_with_chain_id_31337_and_different_genesis_get_different_manifests(monkeypatch, tmp_path):
    from l2.l1 import deploy as plan

    monkeypatch.setattr(plan, "DEPLOYMENTS_DIR", tmp_path)
    with run_anvil(extra_args=("--timestamp", "1700000000")) as first, \
            run_anvil(extra_args=("--timestamp", "1700000001")) as second:
        assert _deploy_in_process(first.url) == 0
        assert _deploy_in_process(second.url) == 0
        lines: list[str] = []
        assert _deploy_in_process(first.url, lines.append) == 0  # its own manifest, untouched by the second
        manifests = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("31337-*.json")}
    assert len(manifests) == 2
    assert len({m["genesisHash"] for m in manifests.values()}) == 2
    for name, manifest in manifests.items():
        assert name == f"31337-{manifest['genesisHash'][2:12]}.json"
    assert f"0 deployed, {len(deployment_plan())} unchanged" in lines[-1]


def test_an_old_manifest_named_by_chain_id_alone_is_read_while_its_genesis_is_the_nodes(
        anvil_chain, anvil_url, monkeypatch, tmp_path):
    from l2.l1 import deploy as plan

    monkeypatch.setattr(plan, "DEPLOYMENTS_DIR", tmp_path)
    assert run_deploy("--rpc-url", anvil_url, "--out", str(tmp_path / "31337.json")).returncode == 0
    lines: list[str] = []
    assert _deploy_in_process(anvil_url, lines.append) == 0
    assert "31337.json (named by chain id alone, same genesis); writing" in lines[0], lines
    assert f"0 deployed, {len(deployment_plan())} unchanged" in lines[-1]
    assert len(list(tmp_path.glob("31337-*.json"))) == 1

    with run_anvil(extra_args=("--timestamp", "1700000000")) as other:  # chain id 31337, another genesis
        lines.clear()
        assert _deploy_in_process(other.url, lines.append) == 0
    assert re.match(r"not reading \S*31337\.json: it is for another chain with id 31337 \(genesis 0x\w+\.\.\., "
                    r"this node's is 0x\w+\.\.\.\)", lines[0]), lines
    assert f"{len(deployment_plan())} deployed, 0 unchanged" in lines[-1]


# --- a deployment killed mid-plan ----------------------------------------------------------------

def _rpc(url, method, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    assert "error" not in answer, answer
    return answer["result"]


def _journal(path):
    """The journal's complete lines: a line the deployer is still writing is read on the next poll."""
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.split("\n")[:-1]]


GENESIS_TIME = ("--timestamp", "1700000000")  # the same genesis, the same nonces: the same addresses


@pytest.mark.parametrize("after_the_kill", ["mined", "dropped"])
def test_a_deploy_killed_mid_plan_resumes_without_paying_twice_and_ends_as_an_uninterrupted_run(
        tmp_path, after_the_kill):
    """The deployer's third transaction is sent (its signed bytes in the journal) and the run is killed with
    SIGKILL before it is mined. Then the node mines it, or forgets it; the next run finds it by hash, or sends
    the same bytes again, and deploys only the rest."""
    plan = [spec.name for spec in deployment_plan()]
    with run_anvil(extra_args=GENESIS_TIME) as node:
        assert run_deploy("--rpc-url", node.url, "--out", str(tmp_path / "whole.json")).returncode == 0
    whole = json.loads((tmp_path / "whole.json").read_text())

    out = tmp_path / "killed.json"
    journal = out.with_name(out.name + ".journal")
    with run_anvil(extra_args=GENESIS_TIME) as node:
        _rpc(node.url, "evm_setAutomine", False)  # the test mines: it decides where the run is when it dies
        output = (tmp_path / "killed.out").open("w+")
        process = subprocess.Popen([sys.executable, str(SCRIPT), "--rpc-url", node.url, "--out", str(out)],
                                   cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            mined_here = 0  # transactions the test's own blocks took: the first two, never the third
            while time.monotonic() < deadline:
                sent = [e for e in _journal(journal) if e["event"] == "sent"]
                mined = [e for e in _journal(journal) if e["event"] == "mined"]
                if len(sent) == 3 and _rpc(node.url, "eth_getTransactionByHash", sent[2]["transactionHash"]):
                    break  # sent, and the node has it
                if process.poll() is not None:
                    break  # it ended by itself: the assertion below shows what it printed
                # Mining whenever something is pending (as before) could take the third transaction too when
                # the journal was read just before it was sent: then nothing stopped the run at all.
                if mined_here < 2 and _rpc(node.url, "txpool_status")["pending"] != "0x0":
                    _rpc(node.url, "evm_mine")
                    mined_here += len(_rpc(node.url, "eth_getBlockByNumber", "latest", False)["transactions"])
                time.sleep(0.02)
            process.kill()  # SIGKILL: no handler runs, the third transaction sent and not mined
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output.seek(0)
        printed = output.read()
        output.close()
        assert [e["name"] for e in sent] == plan[:3] and len(mined) == 2, (_journal(journal), printed)
        third = sent[2]
        assert not out.exists()
        if after_the_kill == "mined":
            _rpc(node.url, "evm_mine")
        else:
            _rpc(node.url, "anvil_dropTransaction", third["transactionHash"])
            assert _rpc(node.url, "eth_getTransactionByHash", third["transactionHash"]) is None  # forgotten
        _rpc(node.url, "evm_setAutomine", True)

        resumed = run_deploy("--rpc-url", node.url, "--out", str(out))
        assert resumed.returncode == 0, resumed.stderr
        deployer = whole["contracts"][plan[0]]["deployer"]
        nonce = int(_rpc(node.url, "eth_getTransactionCount", deployer, "latest"), 16)
    for name in plan[:3]:
        assert f"{name}: deployed at {whole['contracts'][name]['address']} by the interrupted run" in resumed.stdout
    if after_the_kill == "dropped":
        assert f"{plan[2]}: sending transaction {third['transactionHash'][:12]}... again as it was signed" \
            in resumed.stdout
    for name in plan[3:]:
        assert f"{name}: deployed at {whole['contracts'][name]['address']} (gas" in resumed.stdout
    assert f"{len(plan) - 3} deployed, 3 deployed by the interrupted run, 0 unchanged" in resumed.stdout
    assert nonce == len(plan)  # one transaction per contract: nothing was paid for twice
    assert json.loads(out.read_text())["contracts"] == whole["contracts"]
    assert not journal.exists()


def test_a_journaled_transaction_whose_nonce_went_to_another_is_deployed_again(anvil_chain, tmp_path):
    """Sent, never mined, and the deployer's nonce used since by another transaction: it can never land."""
    from l2.l1.deploy import Journal, deploy_all

    plan = deployment_plan()[:1]
    out = tmp_path / "m.json"
    deployer = anvil_chain.accounts[0]
    nonce = anvil_chain.w3.eth.get_transaction_count(deployer.address)
    unsent = {"event": "sent", "name": plan[0].name, "from": deployer.address, "nonce": nonce,
              "transactionHash": "0x" + "77" * 32, "raw": "0x00"}
    anvil_chain.send_eth(deployer, anvil_chain.accounts[1].address, 1)  # takes that nonce
    lines: list[str] = []
    genesis = "0x" + bytes(anvil_chain.w3.eth.get_block(0)["hash"]).hex()
    Journal.beside(out).append({"event": "start", "chainId": 31337, "genesisHash": genesis})
    # The init code hash the run will compute, so that the entry is taken as this contract's.
    from l2.l1.deploy import DeployContext, _init_code

    init = _init_code(anvil_chain, anvil_chain.artifacts, plan[0].name, plan[0].args(DeployContext(anvil_chain)))
    Journal.beside(out).append({**unsent, "initCodeHash": "0x" + keccak(init).hex()})
    results, manifest = deploy_all(anvil_chain, out=out, plan=plan, log=lines.append)
    assert f"nonce {nonce} went to another: deploying again" in lines[0]
    assert results[0].status == "deployed"
    assert anvil_chain.w3.eth.get_code(manifest["contracts"][plan[0].name]["address"])


# --- the balance check ----------------------------------------------------------------------------

def test_the_balance_check_counts_the_whole_plan_before_the_first_transaction(anvil_chain, anvil_url, monkeypatch):
    """A deployer holding a wei less than the whole plan's gas limits at its fee sends nothing; one holding
    exactly that deploys everything (every transaction is accepted: the estimate is what is sent)."""
    from l2.l1.chain import RpcChain
    from l2.l1.deploy import deploy_all, deployment_cost

    poor = Account.create()
    monkeypatch.setenv("POOR_KEY", poor.key.hex())
    chain = RpcChain(anvil_url, "POOR_KEY")
    plan = deployment_plan()
    whole = deployment_cost(chain, plan)
    assert whole.transactions == len(plan)
    assert deployment_cost(chain, plan[:1]).wei < whole.wei

    chain._rpc("anvil_setBalance", [poor.address, hex(whole.wei - 1)])  # mines nothing: the fee stays
    with pytest.raises(InsufficientFundsError, match=rf"the {len(plan)} deployment\(s\) to send need up to .*"
                                                     "fund it and run again"):
        deploy_all(chain, plan=plan)
    assert chain.w3.eth.get_transaction_count(poor.address) == 0

    chain._rpc("anvil_setBalance", [poor.address, hex(whole.wei)])
    results, _ = deploy_all(chain, plan=plan)
    assert [r.status for r in results] == ["deployed"] * len(plan)
    assert chain.w3.eth.get_transaction_count(poor.address) == len(plan)


# --- --reuse ----------------------------------------------------------------------------------------

def l2(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "l2", *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)


def test_reuse_checks_the_recorded_code_and_refuses_in_one_line(anvil_chain, anvil_url, tmp_path):
    out = tmp_path / "m.json"
    assert run_deploy("--rpc-url", anvil_url, "--out", str(out)).returncode == 0
    manifest = json.loads(out.read_text())
    token = manifest["contracts"]["TestToken"]["address"]
    reused = l2("console", "--rpc-url", anvil_url, "--reuse", "--manifest", str(out), "--shell", "python",
                stdin="print(sorted((n, c.address) for n, c in contracts.items()))\n")
    assert reused.returncode == 0, reused.stderr
    assert str(sorted((n, r["address"]) for n, r in manifest["contracts"].items())) in reused.stdout
    assert f"its {len(manifest['contracts'])} contracts reused, each one's recorded code found at its address" \
        in reused.stdout

    nowhere = {**manifest, "contracts": {**manifest["contracts"], "ChannelRegistry": {
        **manifest["contracts"]["ChannelRegistry"], "address": "0x" + "42" * 20}}}
    out.write_text(json.dumps(nowhere))
    assert_one_line_error(l2("console", "--rpc-url", anvil_url, "--reuse", "--manifest", str(out)),
                          f"no code at 0x{'42' * 20}, where {out} records ChannelRegistry")

    elsewhere = {**manifest, "contracts": {**manifest["contracts"], "ChannelRegistry": {
        **manifest["contracts"]["ChannelRegistry"], "address": token}}}
    out.write_text(json.dumps(elsewhere))
    assert_one_line_error(l2("sandbox", "--rpc-url", anvil_url, "--reuse", "--manifest", str(out)),
                          f"the code at {token} is not the ChannelRegistry that {out} records")

    assert_one_line_error(l2("demo", "--rpc-url", anvil_url, "--reuse", "--manifest", str(tmp_path / "none.json")),
                          f"no manifest at {tmp_path / 'none.json'}")
    assert_one_line_error(l2("compare", "--reuse"), "--reuse needs a node that keeps its contracts (--rpc-url URL)")
    assert_one_line_error(l2("sandbox", "--anvil", "--reuse"), "--reuse needs a node that keeps its contracts")


def test_sandbox_reuses_a_deployment_session_after_session(anvil_chain, anvil_url, tmp_path):
    out = tmp_path / "m.json"
    assert run_deploy("--rpc-url", anvil_url, "--out", str(out)).returncode == 0
    addresses = {name: r["address"] for name, r in json.loads(out.read_text())["contracts"].items()}
    script = tmp_path / "s.py"
    script.write_text("print(sorted((n, c.address) for n, c in contracts.items()))\n"
                      "pay(alice_channel, bob_channel, ETHER // 10)\n"
                      "alice_l2.transfer(bob, ETHER // 100)\n"
                      "step()\n")
    for _ in range(2):
        session = l2("sandbox", "--rpc-url", anvil_url, "--reuse", "--manifest", str(out), "--script", str(script))
        assert session.returncode == 0, session.stderr[-2000:]
        assert str(sorted(addresses.items())) in session.stdout
        assert "every root and signature checks" in session.stdout  # the challenger replayed the batch


def test_demo_and_compare_reuse_the_manifests_contracts(anvil_chain, anvil_url, tmp_path):
    out = tmp_path / "m.json"
    assert run_deploy("--rpc-url", anvil_url, "--out", str(out)).returncode == 0
    contracts = json.loads(out.read_text())["contracts"]
    reused = f"{out}: its {len(contracts)} contracts reused, each one's recorded code found at its address"
    compared = l2("compare", "--payments", "8", "--rpc-url", anvil_url, "--reuse", "--manifest", str(out))
    assert compared.returncode == 0, compared.stderr
    assert reused in compared.stdout and "deploying" not in compared.stdout
    told = l2("demo", "--payments", "8", "--batch-size", "4", "--rpc-url", anvil_url, "--reuse", "--manifest", str(out))
    assert told.returncode == 0, told.stderr
    assert reused in told.stdout and "Layer-1 contracts reused" in told.stdout
    for name, record in contracts.items():
        assert re.search(rf"│ {name} +│ {record['address']} │", told.stdout), name
