"""One validator in this process, no network: what it takes from peers and users, and what it signs.

Synced blocks are judged by their commit and by re-execution; a restarted validator never signs a second,
different vote for a round it voted in; the mempool refuses what could never be included.
"""

from __future__ import annotations

import io

import pytest
from eth_account import Account

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.config import ClusterConfig, NodeSpec
from l2.designs.sidechain.errors import (
    BlockRejected,
    CommitRejected,
    SidechainStorageError,
    TransactionRejected,
    VoteRejected,
)
from l2.designs.sidechain.execution import Executor, Genesis
from l2.designs.sidechain.messages import PRECOMMIT, PREVOTE, Block, sign_vote
from l2.designs.sidechain.node import Validator

KEYS = [bytes([0x51 + i]) * 32 for i in range(4)]
SIGNERS = [Signer(k) for k in KEYS]
USER = Account.from_key(bytes([0x21]) * 32)
ETHER = 10**18


def config(chain_id: int = 905) -> ClusterConfig:
    genesis = Genesis(chain_id, 1_700_000_000, ((USER.address, 100 * ETHER),))
    nodes = tuple(NodeSpec(s.address, 10, 40_000 + 2 * i, 40_001 + 2 * i) for i, s in enumerate(SIGNERS))
    return ClusterConfig(genesis, nodes, c.Timing(block_interval=0.1))


def node(tmp_path, i: int = 0, cfg: ClusterConfig | None = None) -> Validator:
    return Validator(cfg or config(), KEYS[i], tmp_path / f"v{i}.db", log=io.StringIO())


def transfer(nonce: int, chain_id: int = 905, value: int = ETHER) -> bytes:
    tx = {"to": "0x" + "22" * 20, "value": value, "gas": 21_000, "nonce": nonce, "chainId": chain_id,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
    return bytes(USER.sign_transaction(tx).raw_transaction)


def committed_block(cfg: ClusterConfig, txs: list[bytes], signers) -> dict:
    """Block 1 built by validator 0 and a commit signed by `signers`, as a peer would send it."""
    executor = Executor.in_memory(cfg.genesis)
    executed = executor.build(txs, cfg.genesis.timestamp + 1, SIGNERS[0].address)
    votes = [sign_vote(s, cfg.domain, 1, 0, PRECOMMIT, executed.block.hash).to_json() for s in signers]
    return {"round": 0, "block": executed.block.to_json(), "precommits": votes}


def test_a_synced_block_with_more_than_two_thirds_of_the_precommits_is_taken(tmp_path):
    cfg = config()
    v = node(tmp_path, 1, cfg)
    v._on_blocks({"type": "blocks", "blocks": [committed_block(cfg, [transfer(0)], SIGNERS[:3])]})
    assert v.executor.height == 1 and v.state.height == 2
    assert v.executor.state_at(v.executor.head()).get_balance(bytes.fromhex("22" * 20)) == ETHER


def test_a_synced_block_with_half_the_stake_is_refused(tmp_path):
    cfg = config()
    v = node(tmp_path, 1, cfg)
    with pytest.raises(CommitRejected, match="not more than 2/3"):
        v._on_blocks({"type": "blocks", "blocks": [committed_block(cfg, [], SIGNERS[:2])]})
    assert v.executor.height == 0


def test_a_commit_counted_twice_from_one_validator_is_still_half_the_stake(tmp_path):
    cfg = config()
    v = node(tmp_path, 1, cfg)
    item = committed_block(cfg, [], SIGNERS[:2])
    item["precommits"] = item["precommits"] + item["precommits"]
    with pytest.raises(CommitRejected):
        v._on_blocks({"type": "blocks", "blocks": [item]})


def test_a_commit_signed_for_another_sidechain_is_refused(tmp_path):
    cfg = config()
    v = node(tmp_path, 1, cfg)
    item = committed_block(config(chain_id=906), [], SIGNERS[:4])
    with pytest.raises(CommitRejected):  # the votes recover to strangers under our domain: no stake at all
        v._on_blocks({"type": "blocks", "blocks": [item]})
    assert v.executor.height == 0


def test_a_synced_block_that_does_not_execute_to_its_committed_hash_is_refused(tmp_path):
    cfg = config()
    v = node(tmp_path, 1, cfg)
    item = committed_block(cfg, [transfer(0)], SIGNERS[:3])
    item["block"]["txs"] = ["0x" + transfer(0, value=2 * ETHER).hex()]  # another transfer under the same hash
    with pytest.raises(BlockRejected, match="executes to"):
        v._on_blocks({"type": "blocks", "blocks": [item]})
    assert v.executor.height == 0


def test_a_malformed_vote_is_refused_before_it_reaches_the_rules(tmp_path):
    v = node(tmp_path)
    vote = sign_vote(SIGNERS[1], v.domain, 1, 0, PREVOTE, keccak(b"a")).to_json()
    for broken in ({**vote, "sig": "0x1234"}, {**vote, "voteType": 3}, {**vote, "height": -1},
                   {**vote, "block": "0xzz"}):
        with pytest.raises(VoteRejected):
            v._handle_message({"type": "vote", **broken})


def test_a_restarted_validator_sends_its_stored_vote_never_a_conflicting_one(tmp_path):
    cfg = config()
    a, b = keccak(b"block a"), keccak(b"block b")
    v = node(tmp_path, 0, cfg)
    v._cast(c.CastVote(1, 0, PREVOTE, a))
    v.store.close()  # a crash after the vote was stored (and perhaps sent)
    again = node(tmp_path, 0, cfg)
    assert again.state.vote_of(again.me, 0, PREVOTE).block_hash == a  # resumed with its own vote
    again.local.clear()
    again._cast(c.CastVote(1, 0, PREVOTE, b))
    sent = again.local.popleft().vote
    assert sent.block_hash == a and sent.signer == again.me
    assert "sending the stored vote" in again.log_file.getvalue()


def test_a_restarted_validator_keeps_its_lock(tmp_path):
    cfg = config()
    v = node(tmp_path, 0, cfg)
    executed = v.executor.build([transfer(0)], cfg.genesis.timestamp + 1, SIGNERS[0].address)
    v.executed[executed.block.hash] = executed
    v._cast(c.CastVote(1, 2, PRECOMMIT, executed.block.hash))
    v.store.close()
    again = node(tmp_path, 0, cfg)
    assert (again.state.locked_round, again.state.locked_hash) == (2, executed.block.hash)
    assert executed.block.hash in again.executed  # it can propose its locked block again


def test_a_database_of_another_validator_or_chain_is_refused(tmp_path):
    node(tmp_path, 0).store.close()
    (tmp_path / "v1.db").write_bytes((tmp_path / "v0.db").read_bytes())
    with pytest.raises(SidechainStorageError, match="validator"):
        node(tmp_path, 1)
    with pytest.raises(SidechainStorageError, match="chain_id"):
        node(tmp_path, 0, config(chain_id=999))


def test_the_mempool_refuses_what_could_never_be_included(tmp_path):
    v = node(tmp_path)
    with pytest.raises(TransactionRejected, match="chain id"):
        v.add_transaction(transfer(0, chain_id=1), gossip=False)
    with pytest.raises(TransactionRejected, match="gap"):
        v.add_transaction(transfer(3), gossip=False)
    with pytest.raises(TransactionRejected, match="insufficient funds"):
        v.add_transaction(transfer(0, value=1_000 * ETHER), gossip=False)
    with pytest.raises(TransactionRejected, match="decode"):
        v.add_transaction(b"\x02\x01\x02", gossip=False)
    assert v.add_transaction(transfer(0), gossip=False) == v.add_transaction(transfer(0), gossip=False)
    v.add_transaction(transfer(1), gossip=False)
    assert v.pending_nonce(USER.address) == 2


def test_two_executors_from_one_genesis_agree_and_a_reordered_block_is_another_block():
    cfg = config()
    one, two = Executor.in_memory(cfg.genesis), Executor.in_memory(cfg.genesis)
    txs = [transfer(0), transfer(1)]
    executed = one.build(txs, cfg.genesis.timestamp + 5, SIGNERS[2].address)
    assert two.execute(executed.block).evm_block.header.state_root == executed.evm_block.header.state_root
    swapped = Block(1, executed.block.parent_hash, executed.block.timestamp, executed.block.proposer,
                    (txs[1], txs[0]), executed.block.hash)
    with pytest.raises(BlockRejected):
        two.execute(swapped)  # nonce 1 before nonce 0 does not execute
    later = Block(1, executed.block.parent_hash, executed.block.timestamp + 1, executed.block.proposer,
                  tuple(txs), executed.block.hash)
    with pytest.raises(BlockRejected, match="executes to"):
        two.execute(later)  # another timestamp is another block hash
