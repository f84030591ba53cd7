"""State syncs judged by a validator in this process against its own read of the embedded Layer 1: the
proposer's block is prevoted only when its syncs are exactly the next finalized deposits as Layer 1 has
them; a forged, skipped, repeated or not-yet-final sync gets a nil prevote with the reason logged. Below
the votes, execution itself never applies a sync out of order (a block synced from peers included), and
the rules are checked against random proposals with hypothesis."""

from __future__ import annotations

import dataclasses
import io

import pytest
from eth_account import Account
from eth_utils import to_canonical_address
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.cluster import bridge_code
from l2.designs.sidechain.config import ClusterConfig, L1Link, NodeSpec
from l2.designs.sidechain.errors import BlockRejected
from l2.designs.sidechain.execution import Executor, Genesis
from l2.designs.sidechain.l1 import ETH, StakeParams, deploy
from l2.designs.sidechain.l1service import L1Service
from l2.designs.sidechain.messages import NIL, PREVOTE, Block, StateSync, sign_proposal
from l2.designs.sidechain.node import Validator

ETHER = 10**18
SIDECHAIN_ID = 909
KEYS = [bytes([0x71 + i]) * 32 for i in range(4)]
SIGNERS = [Signer(k) for k in KEYS]
ALICE = Account.from_key(bytes([0x43]) * 32).address
TOKEN = "0x" + "7e" * 20


@pytest.fixture
def synced(chain, tmp_path):
    """Two deposits final on Layer 1 (ids 1, 2) and a third one not deep enough yet (3)."""
    l1 = deploy(chain, StakeParams(SIDECHAIN_ID, confirmations=2))
    l1.deposit_ether(chain.accounts[5], ALICE, 3 * ETHER)
    l1.deposit_ether(chain.accounts[6], ALICE, 1 * ETHER)
    chain.mine(2)
    l1.deposit_ether(chain.accounts[5], ALICE, 7 * ETHER)
    nodes = tuple(NodeSpec(s.address, 10, 42_000 + 2 * i, 42_001 + 2 * i) for i, s in enumerate(SIGNERS))
    link = L1Link("http://127.0.0.1:1", l1.stake_manager.address, l1.deposit_manager.address)
    cfg = ClusterConfig(Genesis(SIDECHAIN_ID, 1_700_000_000, (), code=bridge_code()), nodes, c.Timing(),
                        l1.stake_manager.address, link)
    return l1, cfg


def proposer_and_witness(cfg: ClusterConfig) -> tuple[int, int]:
    proposer = cfg.validators.proposer(1, 0)
    p = next(i for i, s in enumerate(SIGNERS) if s.address == proposer)
    return p, (p + 1) % len(SIGNERS)


def witness(tmp_path, cfg, l1, i: int, name: str) -> Validator:
    v = Validator(cfg, KEYS[i], tmp_path / f"{name}.db", log=io.StringIO())
    v.l1 = L1Service(l1, Account.from_key(KEYS[i]), lock=v.lock, log=v.log)
    v.l1.read()
    start_round(v)
    return v


def start_round(v: Validator) -> None:
    """End the wait after the last block now (the only timer a fresh validator has): round 0 starts."""
    v.timers = [(0.0, event) for _, event in v.timers]
    v._fire_timers()


def propose(cfg, p: int, syncs: tuple[StateSync, ...], *, executable: bool = True) -> dict:
    """Validator p's round-0 proposal of block 1 carrying `syncs` (executed, so its hash is honest about
    them, unless the syncs cannot even execute: then the block names a made-up hash)."""
    executor = Executor.in_memory(cfg.genesis)
    if executable:
        block = executor.build([], cfg.genesis.timestamp + 1, SIGNERS[p].address, syncs).block
    else:
        parent = executor.head()
        block = Block(1, parent.hash, cfg.genesis.timestamp + 1, SIGNERS[p].address, (), keccak(b"forged"), syncs)
    proposal = sign_proposal(SIGNERS[p], cfg.domain, 0, -1, block)
    return {"type": "proposal", **proposal.to_json()}


def prevote_of(v: Validator) -> bytes:
    row = v._stored(1, 0, PREVOTE)
    assert row is not None, "the validator did not prevote"
    return row[0]


def test_the_next_finalized_syncs_as_layer1_has_them_are_prevoted(synced, tmp_path):
    l1, cfg = synced
    p, w = proposer_and_witness(cfg)
    v = witness(tmp_path, cfg, l1, w, "honest")
    assert sorted(v.l1.final) == [1, 2]  # the third deposit is not final yet
    honest = tuple(bridge.next_state_syncs(0, v.l1.final))
    assert honest == (StateSync(1, ETH, ALICE, 3 * ETHER), StateSync(2, ETH, ALICE, ETHER))
    message = propose(cfg, p, honest)
    v._handle_message(message)
    assert prevote_of(v) == bytes.fromhex(message["block"]["hash"][2:])
    v.store.close()


FORGED = {
    "inflated": ((StateSync(1, ETH, ALICE, 300 * ETHER),), True, "differs from Layer 1's"),
    "redirected": ((StateSync(1, ETH, "0x" + "66" * 20, 3 * ETHER),), True, "differs from Layer 1's"),
    "another asset": ((StateSync(1, TOKEN, ALICE, 3 * ETHER),), True, "differs from Layer 1's"),
    "invented": ((StateSync(1, ETH, ALICE, 3 * ETHER), StateSync(2, ETH, ALICE, ETHER),
                  StateSync(3, ETH, ALICE, 7 * ETHER)), True, "not on Layer 1 up to its finalized block"),
    "skipped": ((StateSync(2, ETH, ALICE, ETHER),), False, "skips or repeats"),
    "duplicated": ((StateSync(1, ETH, ALICE, 3 * ETHER), StateSync(1, ETH, ALICE, 3 * ETHER)), False,
                   "skips or repeats"),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_a_forged_skipped_duplicated_or_unfinalized_sync_is_prevoted_nil(synced, tmp_path, case):
    l1, cfg = synced
    syncs, executable, reason = FORGED[case]
    p, w = proposer_and_witness(cfg)
    v = witness(tmp_path, cfg, l1, w, case)
    v._handle_message(propose(cfg, p, syncs, executable=executable))
    assert prevote_of(v) == NIL
    assert reason in v.log_file.getvalue()
    v.store.close()


def test_a_sync_final_later_is_prevoted_once_layer1_has_it_deep_enough(synced, tmp_path, chain):
    l1, cfg = synced
    p, w = proposer_and_witness(cfg)
    three = (StateSync(1, ETH, ALICE, 3 * ETHER), StateSync(2, ETH, ALICE, ETHER), StateSync(3, ETH, ALICE, 7 * ETHER))
    chain.mine(2)
    v = witness(tmp_path, cfg, l1, w, "later")
    message = propose(cfg, p, three)
    v._handle_message(message)
    assert prevote_of(v) == bytes.fromhex(message["block"]["hash"][2:])
    v.store.close()


def test_a_validator_without_layer1_refuses_any_state_sync(synced, tmp_path):
    l1, cfg = synced
    p, w = proposer_and_witness(cfg)
    v = Validator(cfg, KEYS[w], tmp_path / "blind.db", log=io.StringIO())  # no Layer-1 link
    start_round(v)
    v._handle_message(propose(cfg, p, (StateSync(1, ETH, ALICE, 3 * ETHER),)))
    assert prevote_of(v) == NIL and "reads no Layer 1" in v.log_file.getvalue()
    v.store.close()


def test_execution_never_applies_a_sync_twice_even_in_a_block_synced_from_peers(synced):
    _, cfg = synced
    executor = Executor.in_memory(cfg.genesis)
    one = StateSync(1, ETH, ALICE, 3 * ETHER)
    executed = executor.build([], cfg.genesis.timestamp + 1, SIGNERS[0].address, (one,))
    with executor.committing(executed):
        pass
    assert executor.last_state_sync() == 1
    assert executor.state_at(executor.head()).get_balance(to_canonical_address(ALICE)) == 3 * ETHER
    with pytest.raises(BlockRejected, match="applies state sync 1 after 1"):
        executor.build([], cfg.genesis.timestamp + 2, SIGNERS[0].address, (one,))
    with pytest.raises(BlockRejected, match="applies state sync 3 after 1"):
        executor.build([], cfg.genesis.timestamp + 2, SIGNERS[0].address, (dataclasses.replace(one, id=3),))
    # The header names the syncs: the same state change under another sync list is another block.
    a = executor.build([], cfg.genesis.timestamp + 2, SIGNERS[0].address, (dataclasses.replace(one, id=2),))
    assert a.evm_block.header.extra_data == bridge.syncs_commitment((dataclasses.replace(one, id=2),))


# --- the rules alone ------------------------------------------------------------------------------------

def _sync(i: int, amount: int) -> StateSync:
    return StateSync(i, ETH, ALICE, amount)


@settings(max_examples=200, deadline=None)
@given(last=st.integers(0, 5), final_count=st.integers(0, 8),
       ids=st.lists(st.integers(0, 10), max_size=6), tamper=st.booleans())
def test_check_state_syncs_accepts_exactly_the_next_finalized_run(last, final_count, ids, tamper):
    final = {i: _sync(i, i * ETHER) for i in range(1, final_count + 1)}
    proposed = [_sync(i, i * ETHER + (1 if tamper and n == 0 else 0)) for n, i in enumerate(ids)]
    expected_ok = (ids == list(range(last + 1, last + 1 + len(ids))) and all(i in final for i in ids)
                   and not (tamper and ids))
    try:
        bridge.check_state_syncs(last, proposed, final)
        accepted = True
    except BlockRejected:
        accepted = False
    assert accepted == expected_ok
    # The proposer's own choice always passes, and takes every final sync it may (up to the cap).
    choice = bridge.next_state_syncs(last, final)
    bridge.check_state_syncs(last, choice, final)
    assert len(choice) == max(0, final_count - last)


@settings(max_examples=25, deadline=None)
@given(amounts=st.lists(st.integers(1, 10**20), min_size=1, max_size=6), per_block=st.integers(1, 3),
       burn=st.lists(st.booleans(), min_size=6, max_size=6))
def test_sidechain_supply_is_minted_minus_burned_for_any_deposits_and_burns(amounts, per_block, burn):
    """Deposits applied in blocks of `per_block` syncs, then burns of some of them through the bridge with
    gas paid: circulating ETH + base fees burned by EIP-1559 = minted - burned, and the bridge holds what
    was burned (what Layer 1 pays out against exits)."""
    user = Account.from_key(bytes([0x44]) * 32)
    genesis = Genesis(SIDECHAIN_ID, 1_700_000_000, (), code=bridge_code())
    executor = Executor.in_memory(genesis)
    syncs = [StateSync(i + 1, ETH, user.address, a + ETHER) for i, a in enumerate(amounts)]
    t = genesis.timestamp
    fees_burned = 0
    for at in range(0, len(syncs), per_block):
        t += 1
        executed = executor.build([], t, SIGNERS[0].address, tuple(syncs[at:at + per_block]))
        with executor.committing(executed):
            pass
    burned = 0
    calldata = bytes.fromhex("51cff8d9") + bytes(12) + to_canonical_address(user.address)  # withdraw(address)
    for nonce, (amount, yes) in enumerate(zip(amounts, burn, strict=False)):
        if not yes:
            continue
        base_fee = executor.head().base_fee_per_gas
        tx = user.sign_transaction({"to": bridge.BRIDGE_ADDRESS, "value": amount, "data": calldata, "gas": 80_000,
                                    "nonce": nonce - sum(1 for b in burn[:nonce] if not b), "chainId": SIDECHAIN_ID,
                                    "maxFeePerGas": 2 * base_fee + 1, "maxPriorityFeePerGas": 1})
        t += 1
        executed = executor.build([bytes(tx.raw_transaction)], t, SIGNERS[0].address)
        with executor.committing(executed):
            pass
        fees_burned += executed.evm_block.header.gas_used * executed.evm_block.header.base_fee_per_gas
        burned += amount
        assert executor.burns(executor.evm_block(executor.height))[0].amount == amount
    state = executor.state_at(executor.head())
    minted = sum(s.amount for s in syncs)
    circulating = state.get_balance(to_canonical_address(user.address)) + state.get_balance(
        to_canonical_address(SIGNERS[0].address))
    bridge_address = to_canonical_address(bridge.BRIDGE_ADDRESS)
    assert circulating + fees_burned == minted - burned
    assert state.get_balance(bridge_address) == burned
    eth = to_canonical_address(ETH)
    assert state.get_storage(bridge_address, bridge.mapping_slot(eth, bridge.SLOT_MINTED)) == minted
    assert state.get_storage(bridge_address, bridge.mapping_slot(eth, bridge.SLOT_BURNED)) == burned
