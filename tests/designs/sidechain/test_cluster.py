"""Four validator processes on 127.0.0.1: blocks with transfers and a contract, then crashes.

One cluster for the module (starting four processes costs seconds); before each test every validator is
running again and has caught up, so each test starts from a live four-validator chain whatever the one
before it killed.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from web3 import Web3

from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.cluster import FAST_TIMING, Cluster
from l2.designs.sidechain.messages import PRECOMMIT, decode_vote
from l2.errors import TransactionReverted
from l2.l1.chain import RpcChain

USER = Account.from_key(bytes([0x21]) * 32)
OTHER = Account.from_key(bytes([0x22]) * 32)
ETHER = 10**18


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("sidechain"), 4, timing=FAST_TIMING,
                 alloc={USER.address: 1_000 * ETHER}) as running:
        yield running


@pytest.fixture(autouse=True)
def all_up(cluster):
    for i in range(4):
        if not cluster.alive(i):
            cluster.restart(i)
    top = max(cluster.height(i) for i in range(4))
    cluster.wait_height(top + 1)
    yield
    for i in range(4):
        if not cluster.alive(i):  # a test that failed half-way leaves nothing dead for the next one
            cluster.restart(i)


def web3_of(cluster, i) -> Web3:
    return Web3(Web3.HTTPProvider(cluster.rpc_url(i), request_kwargs={"timeout": 10}))


def send_eth(w3: Web3, sender, to: str, wei: int) -> dict:
    block = w3.eth.get_block("latest")
    tx = {"to": to, "value": wei, "gas": 21_000, "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
          "chainId": w3.eth.chain_id, "maxPriorityFeePerGas": 10**9,
          "maxFeePerGas": 2 * block["baseFeePerGas"] + 10**9}
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)


def same_chain(cluster, indexes, upto: int) -> list[str]:
    """Block hashes 1..upto as every validator in `indexes` reports them; fails on any difference (a fork)."""
    reference = None
    for i in indexes:
        hashes = [cluster.rpc(i, "eth_getBlockByNumber", [hex(n), False])["hash"] for n in range(1, upto + 1)]
        if reference is None:
            reference = hashes
        assert hashes == reference, f"validator {i} disagrees with validator {indexes[0]}"
    return reference or []


def check_commit(cluster, i: int, height: int, block_hash: str) -> None:
    """The commit stored with a block: precommits for its hash, one round, more than 2/3 of the stake."""
    commit = cluster.rpc(i, "sidechain_getCommit", [height])
    assert commit["hash"] == block_hash
    votes = [decode_vote(v, cluster.config.domain) for v in commit["precommits"]]
    assert all(v.vote_type == PRECOMMIT and v.height == height for v in votes)
    power = c.commit_power(cluster.config.validators, votes, height, bytes.fromhex(block_hash[2:]))
    assert cluster.config.validators.is_quorum(power)


def test_four_validators_commit_transfers_and_a_contract_with_identical_blocks(cluster, monkeypatch):
    w3 = web3_of(cluster, 1)
    assert w3.eth.chain_id == cluster.config.chain_id
    before = w3.eth.get_balance(OTHER.address)
    receipts = [send_eth(w3, USER, OTHER.address, ETHER) for _ in range(3)]
    assert all(r["status"] == 1 for r in receipts)
    # Every validator serves the same balance: the transfers are in committed blocks everywhere.
    top = max(r["blockNumber"] for r in receipts)
    cluster.wait_height(top)
    for i in range(4):
        assert web3_of(cluster, i).eth.get_balance(OTHER.address, top) == before + 3 * ETHER

    # The project's own Layer-1 client deploys and calls a contract on the sidechain like on any node.
    monkeypatch.setenv("SIDECHAIN_TEST_KEY", USER.key.hex())
    chain = RpcChain(cluster.rpc_url(2), private_key_env="SIDECHAIN_TEST_KEY")
    token = chain.deploy("TestToken", "Side", "SIDE")
    assert len(chain.w3.eth.get_code(token.address)) > 0
    minted = chain.transact(token.functions.mint(USER.address, 500), USER)
    chain.transact(token.functions.transfer(OTHER.address, 200), USER)
    assert chain.call(token.functions.balanceOf(OTHER.address)) == 200
    with pytest.raises(TransactionReverted, match="InsufficientBalance"):
        chain.transact(token.functions.transfer(OTHER.address, 10**6), USER)
    logs = web3_of(cluster, 3).eth.get_logs({"fromBlock": minted["blockNumber"], "address": token.address})
    transfers = [token.events.Transfer().process_log(log).args for log in logs]
    assert [(t["to"], t["value"]) for t in transfers] == [(USER.address, 500), (OTHER.address, 200)]

    height = chain.w3.eth.block_number
    cluster.wait_height(height)
    hashes = same_chain(cluster, [0, 1, 2, 3], height)
    roots = {cluster.rpc(i, "eth_getBlockByNumber", [hex(height), False])["stateRoot"] for i in range(4)}
    assert len(roots) == 1  # deterministic execution: one state root at every validator
    check_commit(cluster, 0, height, hashes[-1])
    check_commit(cluster, 3, top, hashes[top - 1])


def test_one_of_four_killed_blocks_keep_coming(cluster):
    cluster.kill(3)
    start = max(cluster.height(i) for i in range(3))
    cluster.wait_height(start + 3, [0, 1, 2])
    receipt = send_eth(web3_of(cluster, 0), USER, OTHER.address, 1)
    assert receipt["status"] == 1
    same_chain(cluster, [0, 1, 2], start + 3)


def test_two_of_four_killed_the_chain_halts_without_forking_and_resumes_when_one_returns(cluster):
    cluster.kill(2)
    cluster.kill(3)
    time.sleep(1.0)  # a block already precommitted by all four when the kill landed may still commit
    halted = {i: cluster.height(i) for i in (0, 1)}
    time.sleep(2.0)  # many rounds' worth of timeouts (FAST_TIMING): nothing may commit with half the stake
    assert {i: cluster.height(i) for i in (0, 1)} == halted
    assert abs(halted[0] - halted[1]) <= 1
    cluster.restart(2)
    cluster.wait_height(max(halted.values()) + 2, [0, 1, 2])
    same_chain(cluster, [0, 1, 2], max(halted.values()) + 2)


def test_a_validator_restarted_after_sigkill_catches_up_from_its_peers(cluster):
    cluster.kill(1)
    w3 = web3_of(cluster, 0)
    receipt = send_eth(w3, USER, OTHER.address, 7)
    target = receipt["blockNumber"] + 5
    cluster.wait_height(target, [0, 2, 3])
    missed = cluster.height(0)
    cluster.restart(1)
    cluster.wait_height(missed, [1])
    # Its own state, rebuilt from its database and the blocks it synced: it serves the transfer it missed.
    restarted = web3_of(cluster, 1)
    assert restarted.eth.get_transaction_receipt(receipt["transactionHash"])["blockHash"] == receipt["blockHash"]
    same_chain(cluster, [0, 1], missed)
    check_commit(cluster, 1, missed, restarted.eth.get_block(missed)["hash"].to_0x_hex())
    # And it takes part again: with validator 0 killed, the chain needs it for more than 2/3.
    cluster.kill(0)
    now = max(cluster.height(i) for i in (1, 2, 3))
    cluster.wait_height(now + 2, [1, 2, 3])
