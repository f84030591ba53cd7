"""Four validator processes on 127.0.0.1: blocks with transfers and a contract, then crashes.

The transfers and the contract run on one cluster with no Layer 1 for the module (starting four processes
costs seconds). The crashes run on four validators linked to a Layer 1, the embedded chain or anvil
(`bridged`, a cluster per test since Layer 1 is reverted after each): beside blocks that keep coming, halt
without forking, or are caught up with, Layer 1 must still work for the sidechain through the fault:
checkpoints land, and a deposit made meanwhile is applied once everywhere.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from web3 import Web3

from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.bridge import block_root
from l2.designs.sidechain.cluster import FAST_TIMING, Cluster
from l2.designs.sidechain.l1 import ETH
from l2.designs.sidechain.messages import PRECOMMIT, decode_vote
from l2.errors import TransactionReverted
from l2.l1.chain import RpcChain

from .conftest import INTERVAL, SENDER, USER, bridge_of, wait_for, web3_of

OTHER = Account.from_key(bytes([0x22]) * 32)
ETHER = 10**18


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("sidechain"), 4, timing=FAST_TIMING,
                 alloc={SENDER.address: 1_000 * ETHER}) as running:
        yield running


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
    receipts = [send_eth(w3, SENDER, OTHER.address, ETHER) for _ in range(3)]
    assert all(r["status"] == 1 for r in receipts)
    # Every validator serves the same balance: the transfers are in committed blocks everywhere.
    top = max(r["blockNumber"] for r in receipts)
    cluster.wait_height(top)
    for i in range(4):
        assert web3_of(cluster, i).eth.get_balance(OTHER.address, top) == before + 3 * ETHER

    # The project's own Layer-1 client deploys and calls a contract on the sidechain like on any node.
    monkeypatch.setenv("SIDECHAIN_TEST_KEY", SENDER.key.hex())
    chain = RpcChain(cluster.rpc_url(2), private_key_env="SIDECHAIN_TEST_KEY")
    token = chain.deploy("TestToken", "Side", "SIDE")
    assert len(chain.w3.eth.get_code(token.address)) > 0
    minted = chain.transact(token.functions.mint(SENDER.address, 500), SENDER)
    chain.transact(token.functions.transfer(OTHER.address, 200), SENDER)
    assert chain.call(token.functions.balanceOf(OTHER.address)) == 200
    with pytest.raises(TransactionReverted, match="InsufficientBalance"):
        chain.transact(token.functions.transfer(OTHER.address, 10**6), SENDER)
    logs = web3_of(cluster, 3).eth.get_logs({"fromBlock": minted["blockNumber"], "address": token.address})
    transfers = [token.events.Transfer().process_log(log).args for log in logs]
    assert [(t["to"], t["value"]) for t in transfers] == [(SENDER.address, 500), (OTHER.address, 200)]

    height = chain.w3.eth.block_number
    cluster.wait_height(height)
    hashes = same_chain(cluster, [0, 1, 2, 3], height)
    roots = {cluster.rpc(i, "eth_getBlockByNumber", [hex(height), False])["stateRoot"] for i in range(4)}
    assert len(roots) == 1  # deterministic execution: one state root at every validator
    check_commit(cluster, 0, height, hashes[-1])
    check_commit(cluster, 3, top, hashes[top - 1])


def checkpoint_matches(l1, cluster, i: int, start: int) -> None:
    """Layer 1 holds the checkpoint starting at `start`, and its block root is made of validator i's blocks."""
    (checkpoint,) = [cp for _, cp in l1.checkpoints() if cp.start == start]
    hashes = [cluster.rpc(i, "eth_getBlockByNumber", [hex(h), False])["hash"]
              for h in range(checkpoint.start, checkpoint.end + 1)]
    assert block_root([bytes.fromhex(h[2:]) for h in hashes]) == checkpoint.block_root




def test_one_of_four_killed_blocks_and_checkpoints_keep_coming_a_backup_submitting_on_its_turn(bridged):
    chain, l1, cluster = bridged
    # The submitter of checkpoint window t (blocks tK+1..(t+1)K) is the set's (t mod 4)-th validator, the
    # others following a grace apart each. The one killed is the submitter of the window after next, all
    # of whose blocks come after the kill: that checkpoint lands only if a live validator backs it up.
    order = [v.address for v in cluster.config.validators.validators]
    window = max(cluster.height(i) for i in range(4)) // INTERVAL + 2
    dead = cluster.addresses.index(order[window % len(order)])
    cluster.kill(dead)
    live = [i for i in range(4) if i != dead]
    start = max(cluster.height(i) for i in live)
    assert start < window * INTERVAL + 1, "the chain ran a whole window before the kill landed"
    cluster.wait_height(start + 3, live)
    receipt = send_eth(web3_of(cluster, live[0]), SENDER, OTHER.address, 1)
    assert receipt["status"] == 1
    end = (window + 1) * INTERVAL
    wait_for(f"the checkpoint of blocks {window * INTERVAL + 1}..{end}, validator {dead}'s turn",
             lambda: l1.last_end() >= end, timeout=40)
    assert not cluster.alive(dead)
    same_chain(cluster, live, end)
    checkpoint_matches(l1, cluster, live[0], window * INTERVAL + 1)


def test_two_of_four_killed_the_chain_halts_without_forking_and_resumes_with_a_deposit_made_meanwhile(bridged):
    chain, l1, cluster = bridged
    cluster.wait_height(1)
    cluster.kill(2)
    cluster.kill(3)
    time.sleep(1.0)  # a block already precommitted by all four when the kill landed may still commit
    halted = {i: cluster.height(i) for i in (0, 1)}
    # Locked on Layer 1 while the sidechain cannot commit: it waits on Layer 1 for the next block.
    l1.deposit_ether(USER, USER.address, 3 * ETHER)
    chain.mine(2)  # the confirmation depth
    time.sleep(2.0)  # many rounds' worth of timeouts (FAST_TIMING): nothing may commit with half the stake
    assert {i: cluster.height(i) for i in (0, 1)} == halted
    assert abs(halted[0] - halted[1]) <= 1
    assert l1.last_end() <= max(halted.values())

    cluster.restart(2)
    resumed = max(halted.values()) + 2
    cluster.wait_height(resumed, [0, 1, 2])
    same_chain(cluster, [0, 1, 2], resumed)
    live = [web3_of(cluster, i) for i in (0, 1, 2)]
    wait_for("the deposit on the three running validators",
             lambda: all(w3.eth.get_balance(USER.address) == 3 * ETHER for w3 in live))
    # A checkpoint of blocks committed after the halt, on the three that resumed (3 of 4 equal stakes).
    top = cluster.height(0)
    wait_for(f"a checkpoint covering block {top}", lambda: l1.last_end() >= top, timeout=40)
    (start,) = [cp.start for _, cp in l1.checkpoints() if cp.start <= top <= cp.end]
    checkpoint_matches(l1, cluster, 2, start)

    # The last one back catches up with the deposit applied once, like the others, more blocks on.
    cluster.restart(3)
    cluster.wait_height(cluster.height(0) + 2, timeout=30)
    for i in range(4):
        bridge = bridge_of(web3_of(cluster, i), chain)
        assert web3_of(cluster, i).eth.get_balance(USER.address) == 3 * ETHER
        assert bridge.functions.lastStateSyncId().call() == 1
        assert bridge.functions.minted(ETH).call() == l1.locked() == 3 * ETHER
    same_chain(cluster, [0, 1, 2, 3], cluster.height(3))


def test_a_validator_restarted_after_sigkill_catches_up_and_signs_the_checkpoints_that_need_it(bridged):
    chain, l1, cluster = bridged
    cluster.kill(1)
    w3 = web3_of(cluster, 0)
    receipt = send_eth(w3, SENDER, OTHER.address, 7)
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
    # And it takes part again: with validator 0 killed, blocks and checkpoints need it for more than 2/3.
    cluster.kill(0)
    now = max(cluster.height(i) for i in (1, 2, 3))
    cluster.wait_height(now + 2, [1, 2, 3])
    # Validator 0 may have committed now + 1 before it died, never now + 2: whichever checkpoint covers
    # now + 2 was signed by 1, 2 and 3, the only quorum left.
    wait_for(f"a checkpoint covering block {now + 2}", lambda: l1.last_end() >= now + 2, timeout=40)
    (start,) = [cp.start for _, cp in l1.checkpoints() if cp.start <= now + 2 <= cp.end]
    checkpoint_matches(l1, cluster, 1, start)
