"""ERC-20 channels: a game for tokens; a fee-on-transfer token credited with what arrived (the channel is
then underfunded, and the payout never owes more than the Adjudicator holds); a token that refuses the
payout defers it to `pending`, claimable later, without blocking the other participant."""

from __future__ import annotations

import pytest

from l2.designs.statechannels import messages as m
from l2.designs.statechannels.party import conclude_together, deliver
from l2.designs.statechannels.rules import PAPER, ROCK
from l2.errors import TransactionReverted

from .conftest import ETHER, STAKE


def funded_token(chain, name, *args, holders):
    token = chain.deploy(name, *args)
    for account in holders:
        chain.transact(token.functions.mint(account.address, 10 * ETHER), chain.accounts[0])
    return token


def approve(chain, token, adjudicator, *accounts):
    for account in accounts:
        chain.transact(token.functions.approve(adjudicator.address, 2**256 - 1), account)


def test_a_game_for_tokens(chain, contracts, alice, bob, open_channel):
    token = funded_token(chain, "TestToken", "T", "T", holders=(alice, bob))
    approve(chain, token, contracts["adjudicator"], alice, bob)
    pa, pb = open_channel(chain, contracts, alice, bob, asset=token.address)
    assert pa.held() == 2 * ETHER
    with pytest.raises(TransactionReverted, match="WrongEthValue"):  # no ETH rides along a token deposit
        chain.transact(contracts["adjudicator"].functions.deposit(token.address, pa.channel_id, 2 * ETHER, 1),
                       alice, value=1)
    deliver(pa.play(ROCK), pb)
    deliver(pb.play(PAPER), pa)
    deliver(pa.play(), pb)
    conclude_together([pa, pb])
    pa.conclude()
    assert chain.call(token.functions.balanceOf(alice.address)) == 10 * ETHER - STAKE
    assert chain.call(token.functions.balanceOf(bob.address)) == 10 * ETHER + STAKE


def test_a_fee_on_transfer_deposit_is_credited_with_what_arrived(chain, contracts, alice, bob, open_channel):
    token = funded_token(chain, "FeeOnTransferToken", "F", "F", 100, holders=(alice, bob))  # 1 % fee
    adjudicator = contracts["adjudicator"]
    approve(chain, token, adjudicator, alice, bob)
    pa, pb = open_channel(chain, contracts, alice, bob, asset=token.address, fund=False)
    pa.deposit(ETHER, 0)
    assert pa.held() == ETHER * 99 // 100
    with pytest.raises(TransactionReverted, match="HeldMismatch"):
        pb.deposit(ETHER, ETHER)  # bob expected the nominal amount: refused, he learns what is held
    pb.deposit(ETHER, pa.held())
    conclude_together([pa, pb])
    pa.conclude()  # the outcome (1, 1) is 2 % more than held: alice is paid in full, bob the rest
    assert pa.held() == 0 and chain.call(token.functions.balanceOf(adjudicator.address)) == 0


def test_a_refused_token_payout_is_deferred_and_claimed_later(chain, contracts, alice, bob, open_channel):
    token = funded_token(chain, "PausableToken", holders=(alice, bob))
    adjudicator = contracts["adjudicator"]
    approve(chain, token, adjudicator, alice, bob)
    pa, pb = open_channel(chain, contracts, alice, bob, asset=token.address)
    conclude_together([pa, pb])
    chain.transact(token.functions.setPaused(True), alice)
    receipt = pb.conclude()  # does not revert: both payouts are deferred
    deferred = chain.events(receipt, adjudicator, "PayoutDeferred")
    assert {d.account for d in deferred} == {alice.address, bob.address}
    assert chain.call(adjudicator.functions.pending(token.address, alice.address)) == ETHER
    with pytest.raises(TransactionReverted, match="TokenTransferFailed"):
        chain.transact(adjudicator.functions.claim(token.address), alice)
    chain.transact(token.functions.setPaused(False), alice)
    chain.transact(adjudicator.functions.claim(token.address), alice)
    assert chain.call(token.functions.balanceOf(alice.address)) == 10 * ETHER
    with pytest.raises(TransactionReverted, match="NothingToClaim"):
        chain.transact(adjudicator.functions.claim(token.address), alice)


def test_a_token_deposit_that_concludes_the_channel_meanwhile_is_refused(chain, contracts, alice, bob,
                                                                        open_channel):
    token = funded_token(chain, "HookToken", holders=(alice, bob))
    adjudicator = contracts["adjudicator"]
    approve(chain, token, adjudicator, alice, bob)
    pa, pb = open_channel(chain, contracts, alice, bob, asset=token.address, fund=False)
    pa.deposit(ETHER, 0)
    conclude_together([pa, pb])
    state, sigs = pa.final
    conclude = adjudicator.functions.conclude(pa.fixed.as_tuple(), m.signed_tuple(state, [sigs[0], sigs[1]]))
    chain.transact(token.functions.setHook(adjudicator.address, conclude._encode_transaction_data()), bob)
    with pytest.raises(TransactionReverted, match="ChannelFinalized"):
        pb.deposit(ETHER, ETHER)  # mid-pull the token concludes the channel: the credit would be stranded
