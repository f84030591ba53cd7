"""The optimistic rollup's Layer-1 queue under attack (ported from the previous format's test_attacks.py's sections
4, 5 and 10): dust is refused, a backlog larger than any batch drains and never freezes the rollup, a deposit into a
full account tree is refused before any funds move, and a fee-on-transfer token is credited what arrived."""

from __future__ import annotations

import pytest

from l2.core import bls
from l2.designs.optimistic import l1
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.encoding import MAX_QUEUE_COUNT, Transfer, Withdrawal, amount_pieces
from l2.errors import TransactionReverted
from l2.runtime.service import run_round

from .conftest import Forger

MIN_DEPOSIT = l1.DEV_MIN_DEPOSIT
ETHER = 10**18


def test_dust_deposits_are_refused(rollup_env):
    env, client = rollup_env, rollup_env.client
    alice = env.users[0]
    length = client.contract.functions.queueLength().call()
    with pytest.raises(TransactionReverted, match="DepositTooSmall") as info:
        client.deposit_eth(alice, MIN_DEPOSIT - 1)
    assert info.value.error_args == (MIN_DEPOSIT - 1, MIN_DEPOSIT)
    with pytest.raises(TransactionReverted, match="ZeroAmount"):
        client.deposit_eth(alice, 0)
    with pytest.raises(TransactionReverted, match="DepositTooSmall"):
        client.deposit_token(alice, 1, 10**6 - 1)  # the test token's minimum is 10^6
    # A fee-on-transfer token: the minimum applies to what arrives, not to what was asked for.
    fee_token = env.chain.deploy("FeeOnTransferToken", "Fee Token", "FEE", 1, sender=env.admin)
    client.register_token(env.admin, fee_token.address, 10**18)
    env.chain.transact(fee_token.functions.mint(alice.address, 10**20), env.admin)
    with pytest.raises(TransactionReverted, match="DepositTooSmall") as info:
        client.deposit_token(alice, 2, 10**18)
    assert info.value.error_args == (10**18 - 10**14, 10**18)
    assert client.contract.functions.queueLength().call() == length
    assert fee_token.functions.balanceOf(client.address).call() == 0


def test_a_queue_backlog_larger_than_a_batch_must_take_drains_and_never_freezes_the_rollup(rollup_env, forger,
                                                                                          tmp_path):
    """80 dust deposits while no batch comes for an inclusion window: more overdue entries than one queue
    commitment holds. Layer 1 asks a batch for MAX_QUEUE_COUNT of them at most, never for all (a flood
    must not outgrow a block): a batch that consumes fewer while overdue entries remain is refused, one
    that consumes MAX_QUEUE_COUNT goes through with overdue entries left, and the rest follow. A full
    queue commitment is still replayed by the transition proof in one call."""
    env, client = rollup_env, rollup_env.client
    spammer = env.users[2]
    backlog = MAX_QUEUE_COUNT + 16  # the proposer's deposit at deployment is one of them
    for _ in range(backlog - 1):
        client.deposit_eth(spammer, MIN_DEPOSIT)
    env.chain.advance_time(client.contract.functions.inclusionWindow().call() + 1)
    short, _ = forger.queue(forger.genesis, MAX_QUEUE_COUNT - 1)
    with pytest.raises(TransactionReverted, match="QueueEntryOverdue") as info:
        forger.post([short])
    assert info.value.error_args[0] == MAX_QUEUE_COUNT - 1
    full, state = forger.queue(forger.genesis, MAX_QUEUE_COUNT)
    batch = forger.post([full])
    assert client.queue_head() == MAX_QUEUE_COUNT < client.contract.functions.queueLength().call()
    with pytest.raises(TransactionReverted, match="TransitionCorrect"):
        env.chain.call(client.contract.functions.challengeTransition(forger.transition_proof(batch, 0,
                                                                                             forger.genesis)))
    sequencer = env.sequencer(tmp_path)
    (posted,) = run_round([sequencer])
    assert "16 queue entries" in posted.text
    assert client.queue_head() == client.contract.functions.queueLength().call() == backlog
    checker = env.checker()
    assert len(run_round([checker])) == 2
    assert checker.state.account(2).balance == (backlog - 1) * MIN_DEPOSIT
    assert checker.state.account(1).balance == state.account(1).balance
    sequencer.close()


# --- a full account tree -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(rollup_env):
    """An optimistic rollup whose tree holds one account (depth 1: index 0 is never opened), where alice
    registered her key and the test token is registered."""
    env = rollup_env
    client = l1.deploy(env.chain, env.proposer.address, depth=1, k=4, sender=env.admin)
    client.deposit_bond(env.proposer, l1.DEV_MIN_BOND)
    client.register_key(env.users[0], bls.BlsKey.derive(bytes(env.users[0].key)))
    client.register_token(env.admin, env.token.address, 10**6)
    return client


def test_a_deposit_into_a_full_tree_is_refused_before_any_funds_move(rollup_env, tiny):
    """Layer 1 assigns account indexes at the deposit, so it knows when the tree is full: a deposit that
    would open an account past it reverts (TreeFull) and the depositor keeps everything; one into an
    existing account still goes through, and the rollup goes on (a forced withdrawal is paid)."""
    env, chain = rollup_env, rollup_env.chain
    alice = env.users[0]
    tiny.deposit_eth(alice, 10**17)  # account 1: the tree is full
    tokens_before = env.token.functions.balanceOf(alice.address).call()
    eth_before = chain.balance(alice.address)
    with pytest.raises(TransactionReverted, match="TreeFull") as info:
        tiny.deposit_token(alice, 1, 10**7)  # a second account for alice's token: no room
    assert info.value.error_args == (2,)
    assert env.token.functions.balanceOf(alice.address).call() == tokens_before
    assert env.token.functions.balanceOf(tiny.address).call() == 0
    assert chain.balance(alice.address) == eth_before - _approval_gas(chain, alice)
    tiny.deposit_eth(env.users[1], 2 * 10**17, to=alice.address)  # into her existing account: no room needed
    tiny.request_forced_withdrawal(alice, 1, 5 * 10**16)
    forger = Forger(env, tiny)
    commitment, state = forger.queue(forger.genesis)
    assert commitment.ok == (True, True, True)
    forger.post([commitment])
    checker = Challenger(tiny, env.challenger)
    assert "every root and signature checks" in checker.step()[-1].text
    (claim,) = checker.claimables()
    env.finalize()
    before = chain.balance(alice.address)
    checker.claim(env.challenger, claim)
    assert chain.balance(alice.address) == before + 5 * 10**16
    assert state.account(1).balance == 25 * 10**16
    assert chain.balance(tiny.address) == state.account(1).balance + l1.DEV_MIN_BOND


def _approval_gas(chain, account) -> int:
    """What `account` paid for its last transaction (deposit_token's approval, mined before the revert)."""
    block = chain.w3.eth.get_block("latest", full_transactions=True)
    (tx,) = [t for t in block.transactions if t["from"] == account.address]
    receipt = chain.w3.eth.get_transaction_receipt(tx["hash"])
    return receipt.gasUsed * receipt.effectiveGasPrice


# --- a fee-on-transfer token ----------------------------------------------------------------------------

@pytest.mark.parametrize("fee_bps", [0, 1, 100, 5_000])
def test_a_fee_on_transfer_token_is_credited_what_arrived_and_the_bridge_stays_solvent(rollup_env, forger,
                                                                                        fee_bps):
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    token = chain.deploy("FeeOnTransferToken", "Fee Token", "FEE", fee_bps, sender=env.admin)
    client.register_token(env.admin, token.address, 1)
    token_id = client.contract.functions.tokenCount().call() - 1
    alice, bob = env.users[:2]
    for user in (alice, bob):
        chain.transact(token.functions.mint(user.address, 10**21), env.admin)
        chain.transact(token.functions.approve(client.address, 10**20), user)
        chain.transact(client.contract.functions.depositToken(token_id, 10**20, user.address), user)
    arrived = 10**20 - 10**20 * fee_bps // 10_000
    assert [e.amount for e in client.queue_entries(1)] == [arrived, arrived]
    assert token.functions.balanceOf(client.address).call() == 2 * arrived
    a, b = client.account_of(alice.address, token_id), client.account_of(bob.address, token_id)
    deposits, state = forger.queue(forger.genesis)
    commitments = [deposits]
    # Alice pays bob, then both leave with everything (an amount is a 16-bit float: in pieces); the
    # commitments pay their (zero) fees to alice's account, which holds the token.
    txs = [Transfer(a, b, 10**18)] + [Withdrawal(a, p) for p in amount_pieces(arrived - 10**18)] + [
        Withdrawal(b, p) for p in amount_pieces(arrived + 10**18)]
    for start in range(0, len(txs), client.k):
        commitment, state = forger.transfers(state, txs[start:start + client.k], fee_receiver=a)
        commitments.append(commitment)
    forger.post(commitments)
    assert state.account(a).balance == state.account(b).balance == 0
    checker = env.checker()
    assert "every root and signature checks" in checker.step()[-1].text
    env.finalize()
    for claim in checker.claimables():
        checker.claim(env.challenger, claim)
    assert token.functions.balanceOf(client.address).call() == 0  # everyone paid, nothing owed, nothing left
