"""The bridge end to end with four validator processes and the embedded Layer 1 (served to them by the
gateway): deposits locked on Layer 1 are applied on the sidechain once, in order, after the confirmation
depth; a burn on the sidechain lands in a checkpoint the validators sign and submit themselves, and is
proven and paid on Layer 1, once; Layer 1 keeps locked = minted - exited throughout."""

from __future__ import annotations

import json
import socket

import pytest
from eth_account import Account

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain.bridge import Burn, block_root
from l2.designs.sidechain.cluster import FAST_TIMING, Cluster
from l2.designs.sidechain.config import L1Link
from l2.designs.sidechain.l1 import ETH, StakeParams, deploy
from l2.designs.sidechain.messages import PREVOTE, decode_vote, sign_vote
from l2.errors import TransactionReverted
from l2.l1.gateway import Gateway

from .conftest import BRIDGED_ID, CLUSTER_KEYS, ETHER, INTERVAL, USER, bridge_of, wait_for, web3_of

EXIT_TO = Account.from_key(bytes([0x42]) * 32).address


def test_a_deposit_is_applied_once_and_a_burn_exits_through_a_checkpoint_the_validators_submit(bridged):
    chain, l1, cluster = bridged
    w3s = [web3_of(cluster, i) for i in range(4)]
    l1.deposit_ether(USER, USER.address, 3 * ETHER)
    l1.deposit_ether(chain.accounts[5], USER.address, 2 * ETHER)
    chain.mine(2)  # the confirmation depth
    wait_for("both deposits on every validator",
             lambda: all(w3.eth.get_balance(USER.address) == 5 * ETHER for w3 in w3s))
    for w3 in w3s:
        b = bridge_of(w3, chain)
        assert b.functions.lastStateSyncId().call() == 2
        assert b.functions.minted(ETH).call() == 5 * ETHER
    # The same two syncs stay applied once while more blocks come (the proposers keep reading Layer 1).
    cluster.wait_height(cluster.height(0) + 3)
    assert w3s[1].eth.get_balance(USER.address) == 5 * ETHER

    # A burn on the sidechain, for EXIT_TO on Layer 1.
    w3 = w3s[0]
    bridge = bridge_of(w3, chain)
    tx = bridge.functions.withdraw(EXIT_TO).build_transaction({
        "from": USER.address, "value": 2 * ETHER, "nonce": w3.eth.get_transaction_count(USER.address, "pending"),
        "chainId": BRIDGED_ID, "gas": 100_000, "maxPriorityFeePerGas": 10**9,
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(USER.sign_transaction(tx).raw_transaction), timeout=30, poll_latency=0.05)
    assert receipt["status"] == 1
    burn_block = receipt["blockNumber"]
    assert bridge.functions.burned(ETH).call() == 2 * ETHER

    # The validators sign and submit checkpoints on their own; wait for one covering the burn.
    wait_for("a checkpoint covering the burn", lambda: l1.last_end() >= burn_block, timeout=40)
    (number, checkpoint), = [(n, cp) for n, cp in l1.checkpoints() if cp.start <= burn_block <= cp.end]
    assert checkpoint.end - checkpoint.start + 1 == INTERVAL
    burns = [Burn(b["id"], b["blockNumber"], b["token"], b["recipient"], int(b["amount"]))
             for b in cluster.rpc(2, "sidechain_getBurns", [checkpoint.start, checkpoint.end])]
    assert burns == [Burn(1, burn_block, ETH, EXIT_TO, 2 * ETHER)]
    # Every validator agrees on the block hashes the checkpoint's root is made of.
    hashes = {cluster.rpc(i, "eth_getBlockByNumber", [hex(burn_block), False])["hash"] for i in range(4)}
    assert len(hashes) == 1

    minted = bridge.functions.minted(ETH).call()
    burned = bridge.functions.burned(ETH).call()
    assert l1.locked() == minted  # nothing exited yet
    l1.exit(chain.accounts[6], number, checkpoint, burns, 0)
    assert chain.balance(EXIT_TO) == 2 * ETHER
    assert l1.locked() == minted - burned  # Layer 1 locked = sidechain minted - exited
    with pytest.raises(TransactionReverted, match="AlreadyExited"):
        l1.exit(chain.accounts[6], number, checkpoint, burns, 0)
    # Checkpoints keep coming, each starting where the last ended (the validators rotate who submits).
    wait_for("a second checkpoint", lambda: len(l1.checkpoints()) >= 2, timeout=40)
    ranges = [(cp.start, cp.end) for _, cp in l1.checkpoints()]
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False)) and ranges[0][0] == 1


def send_to_validators(cluster, messages: list[dict]) -> None:
    """Straight onto each validator's peer port, as a peer would (one JSON object per line)."""
    lines = b"".join(json.dumps(m).encode() + b"\n" for m in messages)
    for node in cluster.config.nodes:
        with socket.create_connection(("127.0.0.1", node.p2p_port), timeout=2) as conn:
            conn.sendall(lines)


def test_an_equivocator_is_slashed_by_the_reporters_beside_the_validators_and_checkpoints_go_on(bridged):
    chain, l1, cluster = bridged
    cheat = Signer(CLUSTER_KEYS[3])
    cluster.wait_height(2)
    first_checkpoints = len(l1.checkpoints())

    def slashed() -> bool:
        # Two prevotes of the cheat's key for the next height, round 0, naming different blocks: whichever
        # height the validators reach, they hold both and record the evidence; their reporters send it.
        height = cluster.height(0) + 1
        votes = [sign_vote(cheat, cluster.config.domain, height, 0, PREVOTE, keccak(tag)) for tag in (b"a", b"b")]
        send_to_validators(cluster, [{"type": "vote", **v.to_json()} for v in votes])
        return l1.voting_power(cheat.address) == 0

    wait_for("the equivocator slashed on Layer 1", slashed, timeout=30, interval=0.5)
    assert l1.total_stake() == 30 * ETHER

    def told() -> bool:  # the reporter logs once its transaction's receipt is in: a moment after
        logs = "".join(cluster.log_path(i).read_text() for i in range(4))
        return f"equivocation by {cheat.address}" in logs and f"slashed {cheat.address}" in logs

    wait_for("the evidence and the slash in the validators' logs", told, timeout=10)
    # Checkpoints still land: the submitter leaves out the slashed signer, whose signature Layer 1 would refuse.
    wait_for("a checkpoint after the slash", lambda: len(l1.checkpoints()) >= first_checkpoints + 2, timeout=40)


def test_a_validator_down_during_a_deposit_catches_up_with_it_applied_once(bridged):
    chain, l1, cluster = bridged
    cluster.kill(2)
    l1.deposit_ether(USER, USER.address, 4 * ETHER)
    chain.mine(2)
    live = [web3_of(cluster, i) for i in (0, 1, 3)]
    wait_for("the deposit on the three live validators",
             lambda: all(w3.eth.get_balance(USER.address) == 4 * ETHER for w3 in live))
    # Three of four equal stakes still sign checkpoints.
    top = cluster.height(0)
    wait_for("a checkpoint signed without validator 2", lambda: l1.last_end() >= top, timeout=40)
    cluster.restart(2)
    cluster.wait_height(cluster.height(0), indexes=[2], timeout=30)
    w3 = web3_of(cluster, 2)
    assert w3.eth.get_balance(USER.address) == 4 * ETHER
    assert bridge_of(w3, chain).functions.lastStateSyncId().call() == 1
    assert l1.locked() == bridge_of(w3, chain).functions.minted(ETH).call() == 4 * ETHER
    # Its own view of the checkpoints matches what Layer 1 took (it signs the next ones with the others).
    number, checkpoint = l1.checkpoints()[-1]
    burns = cluster.rpc(2, "sidechain_getBurns", [checkpoint.start, checkpoint.end])
    assert burns == []
    hashes = [cluster.rpc(2, "eth_getBlockByNumber", [hex(h), False])["hash"]
              for h in range(checkpoint.start, checkpoint.end + 1)]
    assert block_root([bytes.fromhex(h[2:]) for h in hashes]) == checkpoint.block_root


def test_a_validator_staked_on_layer1_mid_run_joins_the_set_at_an_epoch_boundary(chain, tmp_path):
    """Five validator processes, the fifth a standby: it stakes on Layer 1 while the chain runs, and once
    Layer 1's epoch that counts it is final, a block carries the new set; from the next height on the
    newcomer's precommits count and it proposes blocks."""
    keys = CLUSTER_KEYS + [bytes([0x35]) * 32]
    newcomer = Account.from_key(keys[4]).address
    l1 = deploy(chain, StakeParams(BRIDGED_ID, confirmations=2))
    for owner, key in zip(chain.accounts[1:5], CLUSTER_KEYS, strict=True):
        l1.stake(owner, Account.from_key(key).address, 10 * ETHER)
    for key in keys:
        chain.send_eth(chain.accounts[0], Account.from_key(key).address, 10 * ETHER)
    with Gateway(chain) as gateway, Cluster(
            tmp_path / "sc", 5, chain_id=BRIDGED_ID, timing=FAST_TIMING, keys=keys,
            stakes=[10 * ETHER] * 4 + [0],
            l1=L1Link(gateway.url, l1.stake_manager.address, l1.deposit_manager.address, INTERVAL)) as cluster:
        cluster.wait_height(2)
        assert newcomer not in cluster.rpc(0, "sidechain_status")["validators"]
        l1.stake(chain.accounts[5], newcomer, 10 * ETHER)
        (change,) = [ch for ch in l1.set_changes() if ch.signer == newcomer]

        def joined() -> bool:
            chain.mine(1)  # confirmations keep coming even between checkpoints
            return all(newcomer in cluster.rpc(i, "sidechain_status")["validators"] for i in range(5))

        wait_for("the newcomer in every validator's set", joined, timeout=60, interval=0.3)
        status = cluster.rpc(0, "sidechain_status")
        assert status["epoch"] >= change.effective_epoch and len(status["validators"]) == 5
        since = cluster.height(0)

        def proposed_and_counted() -> bool:
            top = cluster.height(0)
            for h in range(since + 1, top + 1):
                block = cluster.rpc(0, "eth_getBlockByNumber", [hex(h), False])
                precommits = [decode_vote(v, cluster.config.domain)
                              for v in cluster.rpc(0, "sidechain_getCommit", [hex(h)])["precommits"]]
                if block["miner"] == newcomer and any(v.signer == newcomer for v in precommits):
                    return True
            return False

        wait_for("a block proposed by the newcomer, with its precommit in a commit", proposed_and_counted,
                 timeout=30, interval=0.3)
        top = cluster.height(0)
        cluster.wait_height(top, timeout=20)
        hashes = {cluster.rpc(i, "eth_getBlockByNumber", [hex(top), False])["hash"] for i in range(5)}
        assert len(hashes) == 1
