"""The validator set on Layer 1: stakes, the cap, unbonding counted in checkpoints, and the numbered events
validators read to learn the set."""

from __future__ import annotations

import pytest

from l2.core.crypto import Signer
from l2.designs.sidechain.l1 import StakeParams, deploy
from l2.errors import TransactionReverted

from .conftest import ETHER, MAX_VALIDATORS, SIDECHAIN_ID, SIGNERS, STAKES, UNBONDING_DELAY


def newcomer(i: int) -> Signer:
    return Signer(bytes([0x90 + i]) * 32)


def test_the_genesis_set_is_announced_change_by_change_and_counts_at_once(env):
    changes = env.l1.set_changes()
    assert [(c.change_id, c.signer, c.power, c.effective_epoch) for c in changes] == [
        (i + 1, s.address, stake, 0) for i, (s, stake) in enumerate(zip(SIGNERS, STAKES, strict=True))]
    assert env.l1.total_stake() == sum(STAKES) == env.l1.sm.bonded().call()
    assert env.l1.sm.confirmations().call() == 2  # what validators wait for before applying a change


def test_a_stake_below_the_minimum_a_reused_key_or_a_full_set_is_refused(env):
    owner = env.chain.accounts[8]
    with pytest.raises(TransactionReverted, match="StakeTooLow"):
        env.l1.stake(owner, newcomer(0).address, ETHER - 1)
    with pytest.raises(TransactionReverted, match="SignerTaken"):
        env.l1.stake(owner, SIGNERS[0].address, 5 * ETHER)
    with pytest.raises(TransactionReverted, match="WrongValue"):
        env.chain.transact(env.l1.sm.stake(newcomer(0).address, 2 * ETHER), owner, value=ETHER)
    for i in range(MAX_VALIDATORS - len(SIGNERS)):
        env.l1.stake(owner, newcomer(i).address, ETHER)
    with pytest.raises(TransactionReverted, match="ValidatorSetFull"):
        env.l1.stake(owner, newcomer(9).address, ETHER)
    env.l1.unstake(owner, newcomer(0).address)  # leaving frees its place in the cap
    env.l1.stake(owner, newcomer(9).address, ETHER)


def test_unstaking_waits_the_unbonding_delay_in_checkpoints_and_only_the_owner_acts(env):
    signer, owner = SIGNERS[3].address, env.owners[3]
    env.checkpoint(1)
    with pytest.raises(TransactionReverted, match="NotOwner"):
        env.l1.unstake(env.mallory, signer)
    receipt = env.l1.unstake(owner, signer)
    (event,) = env.chain.events(receipt, env.l1.stake_manager, "UnstakeStarted")
    assert (event.deactivationEpoch, event.withdrawableEpoch) == (2, 2 + UNBONDING_DELAY)
    assert env.l1.set_changes()[-1].power == 0 and env.l1.set_changes()[-1].effective_epoch == 2
    with pytest.raises(TransactionReverted, match="NotBonded"):
        env.l1.unstake(owner, signer)
    for end in range(2, 2 + UNBONDING_DELAY + 1):
        with pytest.raises(TransactionReverted, match="StillUnbonding"):
            env.l1.withdraw_stake(owner, signer)
        env.checkpoint(end, signers=SIGNERS[:3])
    assert env.l1.epoch() == 2 + UNBONDING_DELAY
    with pytest.raises(TransactionReverted, match="NotOwner"):
        env.l1.withdraw_stake(env.mallory, signer)
    before = env.chain.balance(owner.address)
    receipt = env.l1.withdraw_stake(owner, signer)
    assert env.chain.balance(owner.address) - before == STAKES[3] - receipt.gasUsed * receipt.effectiveGasPrice
    with pytest.raises(TransactionReverted, match="NotBonded"):
        env.l1.withdraw_stake(owner, signer)
    assert env.l1.sm.bonded().call() == sum(STAKES[:3]) == env.chain.balance(env.l1.stake_manager.address)


def test_a_validator_leaving_before_it_ever_counted_changes_no_total(env):
    env.checkpoint(1)
    late = newcomer(0)
    env.l1.stake(env.chain.accounts[8], late.address, 7 * ETHER)
    env.l1.unstake(env.chain.accounts[8], late.address)
    env.checkpoint(2)
    assert env.l1.total_stake() == sum(STAKES) and env.l1.voting_power(late.address) == 0


def test_stake_in_an_erc20_is_credited_with_what_arrived(env):
    token = env.chain.deploy("TestToken", "Stake", "STK")
    l1 = deploy(env.chain, StakeParams(SIDECHAIN_ID, stake_token=token.address))
    owner = env.chain.accounts[8]
    env.chain.transact(token.functions.mint(owner.address, 10 * ETHER), owner)
    env.chain.transact(token.functions.approve(l1.stake_manager.address, 10 * ETHER), owner)
    with pytest.raises(TransactionReverted, match="WrongValue"):
        env.chain.transact(l1.sm.stake(SIGNERS[0].address, 3 * ETHER), owner, value=1)
    l1.stake(owner, SIGNERS[0].address, 3 * ETHER)
    assert l1.total_stake() == 3 * ETHER == token.functions.balanceOf(l1.stake_manager.address).call()


def test_a_sidechain_sharing_layer1s_chain_id_is_refused(env):
    with pytest.raises(TransactionReverted, match="SidechainIdIsLayer1"):
        deploy(env.chain, StakeParams(env.chain.chain_id))
