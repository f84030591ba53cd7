"""Censorship resistance of the optimistic rollup (ported from the previous format's test_censorship.py): queued
deposits and forced withdrawals must be included, nobody can force a withdrawal of another's account, and proposing
opens up to anyone bonded once the sequencer is silent."""

from __future__ import annotations

import pytest

from l2.designs.optimistic.encoding import Transfer
from l2.errors import TransactionReverted
from l2.runtime.service import run_round

from .conftest import users_deposit

ETHER = 10**18


def test_an_overdue_deposit_blocks_a_batch_that_leaves_it_out(rollup_env, forger, tmp_path):
    env, client = rollup_env, rollup_env.client
    alice, bob = env.users[:2]
    client.deposit_eth(alice, ETHER)
    deposits, state = forger.queue(forger.genesis)
    forger.post([deposits])
    client.deposit_eth(bob, ETHER)  # the sequencer "does not see" this one
    env.chain.advance_time(client.contract.functions.inclusionWindow().call() + 1)
    payment, _ = forger.transfers(state, [Transfer(2, 1, 10**15)])  # a batch with only alice's transfer
    with pytest.raises(TransactionReverted, match="QueueEntryOverdue") as info:
        forger.post([payment])
    assert info.value.error_args[0] == 2  # bob's deposit, the third entry
    sequencer = env.sequencer(tmp_path)  # the honest path includes it
    assert "1 queue entry," in run_round([sequencer])[0].text
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert checker.state.account(client.account_of(bob.address)).balance == ETHER


def test_a_forced_withdrawal_gets_through_and_is_claimed(rollup_env, tmp_path):
    env = rollup_env
    sequencer = env.sequencer(tmp_path)
    alice = env.wallets(sequencer)[0]
    alice.deposit(ETHER)
    run_round([sequencer], urgent=True)
    alice.force_withdrawal(4 * 10**17)  # on Layer 1: the sequencer cannot leave it out past the window
    run_round([sequencer], urgent=True)
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    (claim,) = checker.claimables(alice.address)
    assert claim.entry is not None and claim.amount == 4 * 10**17
    env.finalize()
    before = env.chain.balance(alice.address)
    checker.claim(env.challenger, claim)
    assert env.chain.balance(alice.address) == before + 4 * 10**17
    assert alice.balance() == 6 * 10**17


def test_a_forced_withdrawal_of_someone_elses_account_withdraws_nothing(rollup_env, forger):
    """Layer 1 queues a forced withdrawal only for the account's owner; one for more than the owner's
    balance is consumed unpaid (its ok bit clear), and nothing can claim it."""
    env, client = rollup_env, rollup_env.client
    alice, mallory = env.users[:2]
    users_deposit(env, (ETHER, 10**16))
    deposits, state = forger.queue(forger.genesis)
    forger.post([deposits])
    for account in (2, 0, 1):  # alice's, the withdrawal address, the proposer's
        with pytest.raises(TransactionReverted, match="NotAccountOwner") as info:
            client.request_forced_withdrawal(mallory, account, ETHER)
        assert info.value.error_args == (account, mallory.address.lower())
    client.request_forced_withdrawal(mallory, 3, ETHER)  # her own account, alice's amount: more than she has
    forced, after = forger.queue(state)
    assert forced.ok == (False,) and after.root == state.root
    batch = forger.post([forced])
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert checker.claimables() == []
    env.finalize()
    (entry,) = forger.entries(start=batch.queue_starts[0])
    with pytest.raises(TransactionReverted, match="NotAWithdrawal"):
        client.claim_forced_withdrawal(mallory, batch, 0, 0, entry)
    assert checker.state.account(2).balance == ETHER and checker.state.account(3).balance == 10**16


def test_anyone_bonded_may_propose_once_the_sequencer_is_silent(rollup_env, forger):
    env, client = rollup_env, rollup_env.client
    backup, unbonded = env.users[2], env.users[1]
    client.deposit_bond(backup, 10**18)
    client.deposit_bond(unbonded, 10**18 - 1)  # less than the minimum bond
    client.deposit_eth(env.users[0], 10**17)
    deposits, _ = forger.queue(forger.genesis)
    opens = client.contract.functions.lastBatchTime().call() + client.contract.functions.inclusionWindow().call() + 1
    with pytest.raises(TransactionReverted, match="SequencerStillActive") as info:
        forger.post([deposits], proposer=backup)
    assert info.value.error_args == (opens,)
    env.chain.advance_time(opens - env.chain.now())
    with pytest.raises(TransactionReverted, match="NotBonded"):
        forger.post([deposits], proposer=unbonded)
    batch = forger.post([deposits], proposer=backup)
    assert batch.header[6] == backup.address and client.tip_root() == deposits.post_root
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    # A batch restarts the clock: the backup waits again, the sequencer may post at any time.
    client.deposit_eth(env.users[0], 10**17)
    more, _ = forger.queue(checker.state)
    with pytest.raises(TransactionReverted, match="SequencerStillActive"):
        forger.post([more], proposer=backup)
    forger.post([more])
