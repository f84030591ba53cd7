"""scripts/deploy.py against a real node (anvil): the manifest, idempotence, and every bad input."""

import json
import os
import subprocess
import sys

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from l2.designs import deployment_plan
from l2.l1.anvil import free_port
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


def test_deploy_to_anvil_writes_a_correct_manifest(anvil_chain, anvil_url, tmp_path):
    out = tmp_path / "31337.json"
    result = run_deploy("--rpc-url", anvil_url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads(out.read_text())
    w3 = anvil_chain.w3
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
        assert record["deployer"] == anvil_chain.accounts[0].address
        code = bytes(w3.eth.get_code(record["address"]))
        assert record["runtimeCodeHash"] == "0x" + keccak(code).hex()
        assert isinstance(record["constructorArgs"], list)
    assert manifest["contracts"]["TestToken"]["constructorArgs"] == ["l2 Test Token", "L2T"]


def test_second_run_reports_unchanged_and_sends_nothing(anvil_chain, anvil_url, tmp_path):
    out = tmp_path / "m.json"
    assert run_deploy("--rpc-url", anvil_url, "--out", str(out)).returncode == 0
    first = json.loads(out.read_text())
    deployer = anvil_chain.accounts[0].address
    nonce = anvil_chain.w3.eth.get_transaction_count(deployer)
    block = anvil_chain.w3.eth.block_number

    again = run_deploy("--rpc-url", anvil_url, "--out", str(out))
    assert again.returncode == 0, again.stderr
    for name in first["contracts"]:
        assert f"{name}: unchanged at {first['contracts'][name]['address']}" in again.stdout
    assert anvil_chain.w3.eth.get_transaction_count(deployer) == nonce
    assert anvil_chain.w3.eth.block_number == block
    assert json.loads(out.read_text())["contracts"] == first["contracts"]

    forced = run_deploy("--rpc-url", anvil_url, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    redeployed = json.loads(out.read_text())["contracts"]
    assert all(redeployed[n]["address"] != first["contracts"][n]["address"] for n in first["contracts"])


def test_default_manifest_path_is_deployments_chain_id(anvil_chain, anvil_url, monkeypatch, tmp_path):
    from l2.commands import deploy
    from l2.l1 import deploy as plan

    monkeypatch.setattr(plan, "DEPLOYMENTS_DIR", tmp_path / "deployments")
    args = deploy.build_parser().parse_args(["--rpc-url", anvil_url])
    assert deploy.run_deploy(args, print_line=lambda line: None) == 0
    assert (tmp_path / "deployments" / "31337.json").exists()


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
