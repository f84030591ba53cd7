"""Deposits and exits on Layer 1: every deposit is a numbered state sync; a burn is paid once a checkpoint
covers it, once, to its recipient; proofs from elsewhere, early exits and exits past what is locked are
refused; past the outflow limit of a checkpoint an exit is held and announced (the Ronin lesson)."""

from __future__ import annotations

import pytest

from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import Burn
from l2.designs.sidechain.l1 import ETH
from l2.errors import TransactionReverted

from .conftest import ETH_LIMIT, ETHER, HOLD_PERIOD, SIGNERS


def test_deposits_are_state_syncs_numbered_in_order_and_locked(env):
    user = env.user
    env.l1.deposit_ether(user, user.address, 3 * ETHER)
    env.l1.deposit_erc20(user, env.token.address, env.mallory.address, 7 * ETHER)
    env.l1.deposit_ether(user, env.mallory.address, 1)
    syncs = env.l1.state_syncs()
    assert [(s.id, s.token, s.recipient, s.amount) for s in syncs] == [
        (1, ETH, user.address, 3 * ETHER), (2, env.token.address, env.mallory.address, 7 * ETHER),
        (3, ETH, env.mallory.address, 1)]
    assert [s.id for s in env.l1.state_syncs(after_id=2)] == [3]
    assert env.l1.locked() == 3 * ETHER + 1 == env.chain.balance(env.l1.deposit_manager.address)
    assert env.l1.locked(env.token.address) == 7 * ETHER


def test_empty_deposits_unknown_tokens_and_no_recipient_are_refused(env):
    with pytest.raises(TransactionReverted, match="ZeroDeposit"):
        env.l1.deposit_ether(env.user, env.user.address, 0)
    with pytest.raises(TransactionReverted, match="ZeroRecipient"):
        env.l1.deposit_ether(env.user, "0x" + "00" * 20, ETHER)
    other = env.chain.deploy("TestToken", "Other", "OTH")
    with pytest.raises(TransactionReverted, match="UnknownToken"):
        env.l1.deposit_erc20(env.user, other.address, env.user.address, ETHER)
    assert env.l1.sm.setChangeCount().call() == 4 and env.l1.dm.stateSyncCount().call() == 0


def test_a_contract_depositing_names_its_sidechain_recipient(env):
    probe = env.chain.deploy("ExitRecipientProbe")
    env.chain.transact(probe.functions.deposit(env.l1.deposit_manager.address, env.user.address), env.user,
                       value=ETHER)
    (sync,) = env.l1.state_syncs()
    assert (sync.depositor, sync.recipient, sync.amount) == (probe.address, env.user.address, ETHER)


def funded(env, eth: int = 20 * ETHER):
    env.l1.deposit_ether(env.user, env.user.address, eth)


def test_a_burn_is_paid_to_its_recipient_once_its_checkpoint_is_in_and_only_once(env):
    funded(env)
    alice, bob = env.chain.new_account(0), env.chain.new_account(0)
    burns = [env.burn(2, alice.address, ETHER), env.burn(3, bob.address, 2 * ETHER)]
    number, cp = env.checkpoint(4, burns)
    receipt = env.l1.exit(env.mallory, number, cp, burns, 1)  # anyone may prove it; bob is paid
    assert env.chain.balance(bob.address) == 2 * ETHER
    (paid,) = env.chain.events(receipt, env.l1.deposit_manager, "ExitPaid")
    assert (paid.burnId, paid.checkpoint, paid.recipient) == (2, 0, bob.address)
    with pytest.raises(TransactionReverted, match="AlreadyExited") as info:
        env.l1.exit(env.user, number, cp, burns, 1)
    assert info.value.error_args == (2,)
    env.l1.exit(env.user, number, cp, burns, 0)
    assert env.chain.balance(alice.address) == ETHER
    assert env.l1.locked() == 17 * ETHER and env.l1.exited(1) and env.l1.exited(2) and not env.l1.exited(3)


def test_an_exit_before_its_checkpoint_says_which_block_is_waited_for(env):
    funded(env)
    early = [env.burn(3, env.user.address, ETHER)]
    number, cp = env.checkpoint(2)
    late = bridge.make_checkpoint(3, [b"\x01" * 32], early)  # what the next checkpoint will be
    with pytest.raises(TransactionReverted, match="ExitBeforeCheckpoint") as info:
        env.l1.exit(env.user, 1, late, early, 0)
    assert info.value.error_args == (3, 2)
    with pytest.raises(TransactionReverted, match="ExitBeforeCheckpoint"):
        env.l1.exit(env.user, 0, cp, early, 0, proof=[])


def test_an_exit_proven_with_another_checkpoint_or_a_forged_burn_is_refused(env):
    funded(env)
    first = [env.burn(2, env.user.address, ETHER)]
    n0, cp0 = env.checkpoint(4, first)
    second = [env.burn(5, env.user.address, ETHER), env.burn(6, env.mallory.address, ETHER)]
    n1, cp1 = env.checkpoint(8, second)
    with pytest.raises(TransactionReverted, match="CheckpointMismatch"):  # checkpoint 0 with 1's header
        env.l1.exit(env.user, n0, cp1, second, 0)
    with pytest.raises(TransactionReverted, match="BurnNotInCheckpoint"):  # 0's burn against checkpoint 1
        env.l1.exit(env.user, n1, cp1, first, 0, proof=bridge.exit_proof(second, 0))
    moved = Burn(first[0].id, 5, ETH, env.user.address, ETHER)  # 0's burn said to be in checkpoint 1's range
    with pytest.raises(TransactionReverted, match="InvalidExitProof"):
        env.l1.exit(env.user, n1, cp1, [moved], 0, proof=bridge.exit_proof(second, 0))
    inflated = Burn(2, 5, ETH, env.user.address, 10 * ETHER)
    with pytest.raises(TransactionReverted, match="InvalidExitProof"):
        env.l1.exit(env.user, n1, cp1, [inflated, second[1]], 0, proof=bridge.exit_proof(second, 0))
    redirected = Burn(3, 6, ETH, env.user.address, ETHER)  # mallory's burn, paid to the user
    with pytest.raises(TransactionReverted, match="InvalidExitProof"):
        env.l1.exit(env.user, n1, cp1, [second[0], redirected], 1, proof=bridge.exit_proof(second, 1))
    with pytest.raises(TransactionReverted, match="InvalidExitProof"):  # right burn, wrong position
        env.l1.exit(env.user, n1, cp1, second, 1, proof=bridge.exit_proof(second, 0))
    empty_n, empty = env.checkpoint(9)  # no burns: a zero exit root, nothing proves against it
    with pytest.raises(TransactionReverted, match="InvalidExitProof"):
        env.l1.exit(env.user, empty_n, empty, [Burn(9, 9, ETH, env.user.address, 1)], 0, proof=[])
    assert env.l1.locked() == 20 * ETHER


def test_a_checkpoint_paying_more_than_was_ever_locked_pays_nothing(env):
    funded(env, ETHER)
    burns = [env.burn(2, env.mallory.address, 2 * ETHER)]
    number, cp = env.checkpoint(2, burns)
    with pytest.raises(TransactionReverted, match="ExceedsLocked") as info:
        env.l1.exit(env.mallory, number, cp, burns, 0)
    assert info.value.error_args == (ETH, 2 * ETHER, ETHER)


def test_past_the_outflow_limit_an_exit_is_held_announced_and_released_after_the_hold(env):
    funded(env, 30 * ETHER)
    who = env.chain.new_account(0)
    burns = [env.burn(2, who.address, 4 * ETHER), env.burn(2, who.address, 2 * ETHER),
             env.burn(3, who.address, ETHER)]
    number, cp = env.checkpoint(3, burns)
    env.l1.exit(env.user, number, cp, burns, 0)  # 4 of the 5 allowed
    receipt = env.l1.exit(env.user, number, cp, burns, 1)  # 6 > 5: held
    (hit,) = env.chain.events(receipt, env.l1.deposit_manager, "OutflowLimitHit")
    assert (hit.checkpoint, hit.token, hit.paidSoFar, hit.requested, hit.limit) == (0, ETH, 4 * ETHER, 2 * ETHER,
                                                                                   ETH_LIMIT)
    (held,) = env.chain.events(receipt, env.l1.deposit_manager, "ExitHeld")
    assert env.chain.balance(who.address) == 4 * ETHER
    env.l1.exit(env.user, number, cp, burns, 2)  # 4 + 1 fits
    assert env.chain.balance(who.address) == 5 * ETHER
    with pytest.raises(TransactionReverted, match="AlreadyExited"):
        env.l1.exit(env.user, number, cp, burns, 1)
    with pytest.raises(TransactionReverted, match="StillHeld"):
        env.l1.release_held(env.user, burns[1], held.releaseAt)
    env.chain.advance_time(HOLD_PERIOD)
    with pytest.raises(TransactionReverted, match="NotHeld"):  # a held exit pays exactly what was proven
        env.l1.release_held(env.user, Burn(2, 2, ETH, env.user.address, 2 * ETHER), held.releaseAt)
    env.l1.release_held(env.user, burns[1], held.releaseAt)
    assert env.chain.balance(who.address) == 7 * ETHER
    with pytest.raises(TransactionReverted, match="NotHeld"):
        env.l1.release_held(env.user, burns[1], held.releaseAt)
    assert env.l1.locked() == 23 * ETHER and env.l1.pending_payouts() == 0


def test_each_checkpoint_has_its_own_outflow_allowance(env):
    funded(env, 30 * ETHER)
    first = [env.burn(2, env.user.address, 5 * ETHER)]
    n0, cp0 = env.checkpoint(2, first)
    second = [env.burn(3, env.user.address, 5 * ETHER)]
    n1, cp1 = env.checkpoint(3, second)
    for number, cp, burns in ((n0, cp0, first), (n1, cp1, second)):
        receipt = env.l1.exit(env.user, number, cp, burns, 0)
        assert env.chain.events(receipt, env.l1.deposit_manager, "OutflowLimitHit") == []


def test_a_recipient_contract_that_refuses_eth_is_owed_and_claims_later(env):
    funded(env)
    probe = env.chain.deploy("ExitRecipientProbe")
    burns = [env.burn(2, probe.address, ETHER)]
    number, cp = env.checkpoint(2, burns)
    receipt = env.l1.exit(env.user, number, cp, burns, 0)
    assert len(env.chain.events(receipt, env.l1.deposit_manager, "PayoutOwed")) == 1
    assert env.l1.dm.owed(ETH, probe.address).call() == ETHER and env.l1.pending_payouts() == ETHER
    with pytest.raises(TransactionReverted, match="NothingOwed"):
        env.l1.claim(env.user)
    env.chain.transact(probe.functions.setAccepting(True), env.user)
    env.chain.transact(probe.functions.claim(env.l1.deposit_manager.address, ETH), env.user)
    assert env.chain.balance(probe.address) == ETHER and env.l1.pending_payouts() == 0
    assert env.chain.balance(env.l1.deposit_manager.address) == env.l1.locked() == 19 * ETHER


def test_token_exits_are_paid_in_the_token(env):
    env.l1.deposit_erc20(env.user, env.token.address, env.user.address, 50 * ETHER)
    burns = [env.burn(2, env.mallory.address, 8 * ETHER, token=env.token.address)]
    number, cp = env.checkpoint(2, burns, SIGNERS[:2])
    env.l1.exit(env.user, number, cp, burns, 0)
    assert env.token.functions.balanceOf(env.mallory.address).call() == 8 * ETHER
    assert env.l1.locked(env.token.address) == 42 * ETHER
