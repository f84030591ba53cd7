"""The checkpoint service of a validator in this process, over the embedded Layer 1: it signs each window
from its own committed blocks and burns, counts a peer's signature only when it is on the same roots and
from a validator, holds a checkpoint back until more than 2/3 of the stake signed, submits at once on its
turn (the others after a grace), and Layer 1 takes what it submits."""

from __future__ import annotations

import dataclasses
import io
import time

import pytest
from eth_account import Account

from l2.core.crypto import Signer
from l2.designs.sidechain import bridge
from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.cluster import bridge_code
from l2.designs.sidechain.config import ClusterConfig, L1Link, NodeSpec
from l2.designs.sidechain.execution import Executor, Genesis
from l2.designs.sidechain.l1 import StakeParams, deploy
from l2.designs.sidechain.l1service import SUBMIT_GRACE, L1Service
from l2.designs.sidechain.messages import NIL, PREVOTE, SetUpdate, sign_proposal
from l2.designs.sidechain.node import Validator

ETHER = 10**18
SIDECHAIN_ID = 911
INTERVAL = 4
KEYS = sorted((bytes([0x91 + i]) * 32 for i in range(4)), key=lambda k: Signer(k).address.lower())  # the set's order
SIGNERS = [Signer(k) for k in KEYS]
OUTSIDER = Signer(bytes([0x99]) * 32)


@pytest.fixture
def setup(chain, tmp_path):
    l1 = deploy(chain, StakeParams(SIDECHAIN_ID))
    for owner, signer in zip(chain.accounts[1:5], SIGNERS, strict=True):
        l1.stake(owner, signer.address, 10 * ETHER)
        chain.send_eth(chain.accounts[0], signer.address, ETHER)  # gas for the checkpoints it submits
    nodes = tuple(NodeSpec(s.address, 10 * ETHER, 43_000 + 2 * i, 43_001 + 2 * i) for i, s in enumerate(SIGNERS))
    link = L1Link("http://127.0.0.1:1", l1.stake_manager.address, l1.deposit_manager.address, INTERVAL)
    cfg = ClusterConfig(Genesis(SIDECHAIN_ID, 1_700_000_000, (), code=bridge_code()), nodes, c.Timing(),
                        l1.stake_manager.address, link)
    return chain, l1, cfg


def validator(tmp_path, chain, l1, cfg, i: int, blocks: int = INTERVAL) -> Validator:
    """Validator i with `blocks` committed blocks and its Layer-1 service reading the embedded chain."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    v = Validator(cfg, KEYS[i], tmp_path / f"v{i}.db", log=io.StringIO())
    v.l1 = L1Service(l1, Account.from_key(KEYS[i]), lock=v.lock, log=v.log)
    v.l1.read()
    for h in range(1, blocks + 1):
        executed = v.executor.build([], cfg.genesis.timestamp + h, SIGNERS[0].address)  # the same blocks everywhere
        v._store_block(executed, 0, [])
    return v


def signature_message(checkpoint: bridge.Checkpoint, sig: bytes) -> dict:
    return {"type": "checkpoint_sig", "start": checkpoint.start, "end": checkpoint.end, "sig": "0x" + sig.hex()}


def sign(v: Validator, signer: Signer, checkpoint: bridge.Checkpoint) -> dict:
    return signature_message(checkpoint, signer.sign(v.l1.digest(checkpoint)))


def test_signatures_count_only_on_the_same_roots_from_validators_and_the_quorum_is_submitted(setup, tmp_path):
    chain, l1, cfg = setup
    v = validator(tmp_path, chain, l1, cfg, 0)  # the first in the set: its turn for checkpoint 1
    v._sign_checkpoints()
    checkpoint = v.checkpoints[1]
    assert (checkpoint.start, checkpoint.end) == (1, INTERVAL)
    assert checkpoint.block_root == bridge.block_root([v.executor.header(h).hash for h in range(1, INTERVAL + 1)])
    false = dataclasses.replace(checkpoint, exit_root=b"\x01" * 32)  # a checkpoint that pays someone
    v._handle_message(sign(v, SIGNERS[1], false))
    v._handle_message(sign(v, OUTSIDER, checkpoint))
    v._handle_message({**sign(v, SIGNERS[2], checkpoint), "end": INTERVAL + 1})  # another range
    v._handle_message({**sign(v, SIGNERS[2], checkpoint), "sig": "0x1234"})  # malformed
    assert set(v.checkpoint_signatures[1]) == {v.me}
    v._handle_message(sign(v, SIGNERS[1], checkpoint))
    assert v.checkpoint_due() is None  # half the stake
    v._handle_message(sign(v, SIGNERS[2], checkpoint))
    due = v.checkpoint_due()
    assert due is not None and due[0] == checkpoint and set(due[1]) == {s.address for s in SIGNERS[:3]}
    v.l1.submit(*due)
    assert l1.last_end() == INTERVAL and l1.checkpoints()[-1][1] == checkpoint
    assert v.checkpoint_due() is None  # sent: not again at once
    v.store.close()


def test_a_validator_off_its_turn_waits_the_grace_and_early_signatures_are_kept(setup, tmp_path):
    chain, l1, cfg = setup
    v = validator(tmp_path, chain, l1, cfg, 1)  # not its turn for checkpoint 1
    # Signatures that arrive before it has the window are kept and counted once it signs it.
    reference = validator(tmp_path, chain, l1, cfg, 0)
    reference._sign_checkpoints()
    checkpoint = reference.checkpoints[1]
    for i in (0, 2):
        v._handle_message(sign(v, SIGNERS[i], checkpoint))
    v._sign_checkpoints()
    assert v.checkpoints[1] == checkpoint  # same blocks, same roots
    assert set(v.checkpoint_signatures[1]) == {SIGNERS[i].address for i in (0, 1, 2)}
    assert v.checkpoint_due() is None  # validator 0's turn; validator 1 is next, one grace later
    v.quorum_since[1] = time.monotonic() - SUBMIT_GRACE + 0.5
    assert v.checkpoint_due() is None
    v.quorum_since[1] = time.monotonic() - SUBMIT_GRACE - 0.1
    assert v.checkpoint_due() is not None
    for node in (v, reference):
        node.store.close()


def test_a_quorum_counted_on_the_sidechain_is_not_sent_when_layer1_stake_says_otherwise(setup, tmp_path):
    chain, l1, cfg = setup
    v = validator(tmp_path, chain, l1, cfg, 0)
    v._sign_checkpoints()
    checkpoint = v.checkpoints[1]
    for i in (1, 2):
        v._handle_message(sign(v, SIGNERS[i], checkpoint))
    due = v.checkpoint_due()
    assert due is not None
    l1.unstake(chain.accounts[3], SIGNERS[2].address)  # before the first checkpoint: out at once
    l1.unstake(chain.accounts[2], SIGNERS[1].address)
    v.l1.submit(*due)
    assert l1.last_end() == 0
    assert "not more than 2/3: not submitted" in v.log_file.getvalue()
    v.store.close()


# --- the validator set from Layer 1 ---------------------------------------------------------------------

def replica(cfg, blocks: int = INTERVAL) -> Executor:
    """The same blocks as `validator` commits, in another executor (where a proposer builds its next one)."""
    executor = Executor.in_memory(cfg.genesis)
    for h in range(1, blocks + 1):
        executed = executor.build([], cfg.genesis.timestamp + h, SIGNERS[0].address)
        with executor.committing(executed):
            pass
    return executor


def at_epoch_one(setup, tmp_path, name: str):
    """Checkpoint 1 on Layer 1 (epoch 1), final; a validator at height 5 that has read it."""
    chain, l1, cfg = setup
    v = validator(tmp_path / name, chain, l1, cfg, 1)
    checkpoint = v.checkpoint_of(1, INTERVAL)
    l1.submit_checkpoint(chain.accounts[0], checkpoint,
                         {s.address: s.sign(l1.checkpoint_digest(checkpoint)) for s in SIGNERS})
    chain.mine(2)
    v.l1.read()
    v._next_height()
    v.timers = [(0.0, event) for _, event in v.timers]
    v._fire_timers()  # round 0 of height 5 starts
    return v


SET = tuple((s.address, 10 * ETHER) for s in SIGNERS)
SET_CASES = {
    "inflated": (SetUpdate(1, ((SET[0][0], 100 * ETHER),) + SET[1:]), "differs from Layer 1's"),
    "stranger": (SetUpdate(1, tuple(sorted(SET + ((OUTSIDER.address, ETHER),), key=lambda v: v[0].lower()))),
                 "differs from Layer 1's"),
    "dropped": (SetUpdate(1, SET[:3]), "differs from Layer 1's"),
    "future epoch": (SetUpdate(2, SET), "differs from Layer 1's"),
    "stale epoch": (SetUpdate(1, SET), "already at 1"),  # the sidechain adopted epoch 1 before
}


@pytest.mark.parametrize("case", ["honest"] + list(SET_CASES))
def test_a_set_update_is_prevoted_only_as_layer1s_finalized_epoch_has_it(setup, tmp_path, case):
    chain, l1, cfg = setup
    (tmp_path / case).mkdir()
    v = at_epoch_one(setup, tmp_path, case)
    assert v.l1.set_view == SetUpdate(1, SET)
    update, reason = (SetUpdate(1, SET), "") if case == "honest" else SET_CASES[case]
    if case == "stale epoch":
        v.epoch = 1
    proposer = cfg.validators.proposer(INTERVAL + 1, 0)
    signer = next(s for s in SIGNERS if s.address == proposer)
    executor = replica(cfg)
    if case == "honest":
        assert bridge.next_set_update(0, v.l1.set_view) == update
    block = executor.build([], cfg.genesis.timestamp + INTERVAL + 1, proposer, (), update).block
    v._handle_message({"type": "proposal", **sign_proposal(signer, cfg.domain, 0, -1, block).to_json()})
    row = v._stored(INTERVAL + 1, 0, PREVOTE)
    assert row is not None
    if case == "honest":
        assert row[0] == block.hash
    else:
        assert row[0] == NIL and reason in v.log_file.getvalue()
    v.store.close()


def test_the_set_of_an_epoch_is_each_signers_latest_change_effective_by_then():
    a, b, d = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "dd" * 20
    changes = [(1, a, 5, 0), (2, b, 7, 0), (3, d, 9, 2), (4, a, 0, 2), (5, b, 8, 3)]
    assert bridge.validator_set_at(changes, 0) == ((a, 5), (b, 7))
    assert bridge.validator_set_at(changes, 1) == ((a, 5), (b, 7))
    assert bridge.validator_set_at(changes, 2) == ((b, 7), (d, 9))  # a left, d came
    assert bridge.validator_set_at(changes, 3) == ((b, 8), (d, 9))
    assert bridge.next_set_update(3, SetUpdate(3, ((b, 8),))) is None  # not a later epoch
    assert bridge.next_set_update(2, SetUpdate(3, ())) is None  # never an empty set
