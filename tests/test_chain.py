"""Layer 1 behaves the same whether it is the embedded py-evm chain, anvil or the Hardhat node over JSON-RPC."""

import re
import socket
import subprocess
import sys
import threading
import time

import pytest
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import Web3RPCError

from l2.errors import ChainConnectionError, ConfigError, TransactionReverted
from l2.l1.chain import CONNECT_TIMEOUT, RpcChain, connect, load_private_key
from l2.l1.compiler import PROJECT_ROOT
from l2.l1.reverts import hex_data, revert_payload


@pytest.fixture(params=["embedded", "anvil", "hardhat"])
def any_chain(request, chain):
    """Each test below runs once per kind of chain, isolated by its own snapshot."""
    target = chain if request.param == "embedded" else request.getfixturevalue(f"{request.param}_chain")
    snapshot = target.snapshot()
    yield target
    target.revert(snapshot)


def test_compiles_deploys_and_transacts(any_chain):
    probe = any_chain.deploy("RevertProbe")
    assert probe.deploy_receipt.status == 1
    receipt = any_chain.transact(probe.functions.poke(0), any_chain.accounts[1])
    assert receipt.status == 1 and receipt.gasUsed > 21_000
    assert any_chain.call(probe.functions.counter()) == 1


@pytest.mark.parametrize(
    "mode, name, args",
    [(1, "ProbeFailed", None), (2, "Error", ("probe: mode two",)), (3, "Panic", (1,))],
)
def test_reverts_are_decoded_to_the_contract_error(any_chain, mode, name, args):
    probe = any_chain.deploy("RevertProbe")
    sender = any_chain.accounts[1]
    for attempt in (
        lambda: any_chain.transact(probe.functions.poke(mode), sender),
        lambda: any_chain.call(probe.functions.poke(mode), sender),
    ):
        with pytest.raises(TransactionReverted) as info:
            attempt()
        assert info.value.error_name == name
        expected = args if args is not None else (7, sender.address.lower())
        assert tuple(str(a).lower() if isinstance(a, str) else a for a in info.value.error_args) == expected
    assert any_chain.call(probe.functions.counter()) == 0  # nothing happened


PROBE_FAILED = function_signature_to_4byte_selector("ProbeFailed(uint256,address)")
ERROR, PANIC = bytes.fromhex("08c379a0"), bytes.fromhex("4e487b71")


@pytest.mark.parametrize("data, name, args", [
    (bytes.fromhex("deadbeef") + bytes(32), "UnknownError", ("0xdeadbeef" + "00" * 32,)),  # no such error
    (bytes.fromhex("08c379a0") + b"\x01\x02\x03", "UnknownError", ("0x08c379a0010203",)),  # Error(string), cut short
    (bytes.fromhex("4e487b71"), "UnknownError", ("0x4e487b71",)),  # Panic(uint256) without its code
    (PROBE_FAILED + bytes(31), "UnknownError", ("0x" + PROBE_FAILED.hex() + "00" * 31,)),  # a known error, truncated
    (bytes.fromhex("556f1830") + bytes(5), "UnknownError", ("0x556f1830" + "00" * 5,)),  # OffchainLookup, forged
    (bytes.fromhex("1234"), "UnknownError", ("0x1234",)),  # shorter than a selector
    (b"", "EmptyRevert", ()),
    (PROBE_FAILED + (9).to_bytes(32, "big") + bytes(12) + b"\xaa" * 20, "ProbeFailed", (9, "0x" + "aa" * 20)),
])
def test_forged_and_unknown_revert_data_is_reported_raw_not_a_crash(any_chain, data, name, args):
    """Whatever bytes a contract reverts with, the caller gets a TransactionReverted naming them: a known
    error when they decode as one, else UnknownError with the raw data, on every chain. (The Hardhat node
    keeps an Error or Panic selector's malformed payload to itself: UnknownError without the bytes there.)"""
    if "hardhat" in getattr(any_chain, "client_version", "").lower() and data[:4] in (ERROR, PANIC):
        args = ()
    probe = any_chain.deploy("RevertProbe")
    for attempt in (lambda: any_chain.call(probe.functions.revertWith(data)),
                    lambda: any_chain.transact(probe.functions.revertWith(data), any_chain.accounts[1])):
        with pytest.raises(TransactionReverted) as info:
            attempt()
        assert info.value.error_name == name
        assert tuple(a.lower() if isinstance(a, str) else a for a in info.value.error_args) == args
        assert str(info.value).startswith(f"reverted: {name}(") and "\n" not in str(info.value)


@pytest.mark.parametrize("error", [
    {"code": 3, "message": "execution reverted", "data": "0xdeadbeef"},  # anvil, geth
    {"code": -32603, "message": "reverted with an unrecognized custom error",
     "data": {"message": "...", "data": "0xdeadbeef"}},  # the Hardhat node
    {"code": -32603, "message": "reverted", "data": {"originalError": {"code": 3, "data": "0xdeadbeef"}}},  # proxied
])
def test_revert_data_is_found_however_deep_the_node_nests_it(error):
    assert revert_payload(Web3RPCError("reverted", rpc_response={"jsonrpc": "2.0", "id": 1, "error": error})) == \
        bytes.fromhex("deadbeef")


def test_revert_data_that_is_not_hex_is_no_revert_data():
    for data in ("0xzz", "0x123", "deadbeef", 17, None, {"data": {"data": {"data": {"data": {"data": "0x00"}}}}}):
        assert hex_data(data) is None


def test_snapshot_and_revert_restore_state(any_chain):
    probe = any_chain.deploy("RevertProbe")
    snapshot = any_chain.snapshot()
    any_chain.transact(probe.functions.poke(0), any_chain.accounts[0])
    assert any_chain.call(probe.functions.counter()) == 1
    any_chain.revert(snapshot)
    assert any_chain.call(probe.functions.counter()) == 0


def test_advance_time_and_mine(any_chain):
    start_time = any_chain.now()
    start_block = any_chain.w3.eth.block_number
    any_chain.advance_time(3 * 3600)
    assert any_chain.now() >= start_time + 3 * 3600
    any_chain.mine(5)
    assert any_chain.w3.eth.block_number >= start_block + 6


def test_new_accounts_are_funded_and_can_send(any_chain):
    alice = any_chain.new_account(fund_wei=10**18)
    assert any_chain.balance(alice.address) == 10**18
    receiver = any_chain.new_account(fund_wei=0)
    any_chain.send_eth(alice, receiver.address, 12345)
    assert any_chain.balance(receiver.address) == 12345


def test_embedded_is_the_default(chain):
    assert chain.is_embedded and len(chain.accounts) == 10
    assert all(chain.balance(a.address) > 10**21 for a in chain.accounts)


def test_dev_nodes_use_their_public_dev_accounts_without_a_key(node_chain):
    assert node_chain.chain_id == 31337 and node_chain.is_dev_node
    assert node_chain.accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert all(node_chain.balance(a.address) > 0 for a in node_chain.accounts)


def test_unreachable_node_is_a_connection_error():
    from l2.l1.anvil import free_port

    with pytest.raises(ChainConnectionError, match="cannot reach a JSON-RPC node"):
        connect(f"http://127.0.0.1:{free_port()}")


def test_a_node_that_accepts_but_never_answers_fails_in_seconds():
    """A listener on 127.0.0.1 that takes connections (the kernel's backlog) and never says a word."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ChainConnectionError, match=rf"cannot reach a JSON-RPC node at {url}: no answer within "
                                                       rf"{CONNECT_TIMEOUT:g} s \(something accepts connections"):
            connect(url)
        assert time.monotonic() - started < CONNECT_TIMEOUT + 3  # web3's five retries took 53 s


def test_the_cli_says_so_in_one_line():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        result = subprocess.run([sys.executable, "-m", "l2", "console", "--rpc-url",
                                 f"http://127.0.0.1:{silent.getsockname()[1]}"], capture_output=True, text=True,
                                cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode == 1
    assert re.fullmatch(r"error: cannot reach a JSON-RPC node at \S+: no answer within \d+ s \(.*\)\n", result.stderr)


OWN_MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


def test_anvil_with_its_own_mnemonic_is_refused_without_a_key_and_used_with_one(monkeypatch):
    """Its accounts are not the public dev accounts: those hold nothing there. With one of its keys, the
    named accounts are derived from it and funded, as on any node."""
    from eth_account import Account

    from l2.l1.accounts import cast
    from l2.l1.anvil import start_anvil

    Account.enable_unaudited_hdwallet_features()
    own = Account.from_mnemonic(OWN_MNEMONIC, account_path="m/44'/60'/0'/0/0")
    monkeypatch.delenv("L2_PRIVATE_KEY", raising=False)
    with start_anvil(extra_args=("--mnemonic", OWN_MNEMONIC)) as url:
        with pytest.raises(ConfigError, match=rf"^anvil at {url} was started with its own mnemonic: the public dev "
                                              "accounts are not its accounts; put one of its private keys in "
                                              r"L2_PRIVATE_KEY \(or pass --private-key-env NAME\)$"):
            connect(url)
        monkeypatch.setenv("L2_PRIVATE_KEY", own.key.hex())
        chain = connect(url)
        assert [a.address for a in chain.accounts] == [own.address]
        named = cast(chain, 2 * 10**18)
        assert named["operator"].address == own.address
        assert all(chain.balance(a.address) >= 2 * 10**18 for a in named.values())


def test_url_without_scheme_is_refused():
    with pytest.raises(ConfigError, match="must start with http"):
        RpcChain("127.0.0.1:8545")


@pytest.mark.parametrize(
    "value, message",
    [(None, "is not set"), ("0x1234", "not a private key"), ("zz" * 32, "not a private key"), ("00" * 32,
                                                                                               "not a valid")],
)
def test_private_key_errors(monkeypatch, value, message):
    if value is None:
        monkeypatch.delenv("L2_TEST_KEY", raising=False)
    else:
        monkeypatch.setenv("L2_TEST_KEY", value)
    with pytest.raises(ConfigError, match=message):
        load_private_key("L2_TEST_KEY")


def test_block_number_is_the_nodes_latest_block(chain):
    before = chain.block_number()
    assert before == chain.w3.eth.block_number
    chain.mine(3)
    chain.send_eth(chain.accounts[0], chain.accounts[1].address, 1)
    assert chain.block_number() == chain.w3.eth.block_number == before + 4


def test_threads_sharing_the_embedded_chain_never_see_half_a_step(chain):
    """The sandbox's console and operators and the sidechain's gateway use one embedded chain from several
    threads; eth-tester is not thread-safe. While one thread sends transactions (as validators do through
    the gateway), another mines, travels in time and reads the head: every transaction lands, once."""
    sender, receiver = chain.accounts[5], chain.accounts[6]
    before = chain.balance(receiver.address)
    sent, errors = [], []

    def send() -> None:
        try:
            for i in range(60):
                sent.append(chain.send_eth(sender, receiver.address, i + 1))
        except Exception as exc:  # noqa: BLE001 - whatever goes wrong is the finding
            errors.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    deadline = time.monotonic() + 60
    while thread.is_alive() and time.monotonic() < deadline:
        chain.mine(1)
        chain.advance_time(1)
        assert chain.block_number() >= 0
    thread.join(60)
    assert not thread.is_alive() and errors == []
    assert chain.balance(receiver.address) == before + sum(range(1, 61))
    for receipt in sent:
        assert chain.w3.eth.get_block(receipt["blockHash"])["number"] == receipt["blockNumber"]
