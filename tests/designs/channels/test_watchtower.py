"""A key-less watchtower defends an offline party with states both signed, on the same decision
(`rules.respond_to_close`) as the party's own watcher; forged or foreign states are refused on handover."""

from __future__ import annotations

import dataclasses

import pytest

from l2.designs.channels.errors import NonceNotNext, WrongChannel
from l2.designs.channels.party import pay
from l2.designs.channels.rules import A, B, Funding, SubmitSettle, SubmitUpdate, respond_to_close
from l2.designs.channels.watcher import Watchtower
from l2.errors import InvalidSignature

from .conftest import ETHER, open_channel


def test_an_offline_party_is_defended_by_a_watchtower_that_holds_no_key_of_theirs(chain, registry, alice, bob,
                                                                                  mallory):
    party_a, party_b = open_channel(chain, registry, alice, bob)
    pay(party_a, party_b, ETHER // 10)
    stale = party_a.latest
    pay(party_a, party_b, ETHER // 5)
    tower = Watchtower(chain, registry, mallory)  # a third party's account pays the tower's gas
    tower.watch(party_b.params, B, party_b.domain, party_b.latest)  # bob hands over, then goes offline
    party_a.close(stale)
    (answer,) = tower.step()
    assert "answered a close" in str(answer) and "nonce 2" in str(answer)
    assert chain.call(registry.functions.channelState(party_a.channel_id))[0][6] == 2
    chain.advance_time(party_a.params.challenge_period + 1)
    bob_before = chain.balance(bob.address)
    (settled,) = tower.step()
    assert "settled" in str(settled)
    assert chain.balance(bob.address) - bob_before == ETHER + ETHER // 10 + ETHER // 5  # bob paid no gas
    assert tower.step() == [] and tower.clients == {}


def test_a_forged_or_foreign_state_is_refused_when_handed_over(chain, registry, alice, bob, mallory):
    party_a, party_b = open_channel(chain, registry, alice, bob)
    pay(party_a, party_b, ETHER // 10)
    tower = Watchtower(chain, registry, mallory)
    forged = dataclasses.replace(party_b.latest, sig_a=party_b.latest.sig_b)  # B's signature in A's place
    with pytest.raises(InvalidSignature, match="A's signature"):
        tower.watch(party_b.params, B, party_b.domain, forged)
    other_a, other_b = open_channel(chain, registry, alice, bob)
    pay(other_a, other_b, ETHER // 10)
    with pytest.raises(WrongChannel):
        tower.watch(party_b.params, B, party_b.domain, other_b.latest)
    tower.watch(party_b.params, B, party_b.domain, party_b.latest)
    older = party_b.latest
    pay(party_a, party_b, ETHER // 10)
    tower.watch(party_b.params, B, party_b.domain, party_b.latest)
    with pytest.raises(NonceNotNext):
        tower.watch(party_b.params, B, party_b.domain, older)
    assert tower.clients[party_b.channel_id][3] == party_b.latest


def test_the_decision_is_pure_and_returns_the_transactions_to_submit(channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, ETHER // 4)
    onchain = Funding(ETHER, ETHER)
    best = party_b.latest.proof
    closing_balance_a = ETHER  # a close on the opening state
    # bob is owed 0.25 ETH more than the closing state gives him: answer, while there is time
    assert respond_to_close(onchain, 0, closing_balance_a, 1_000, 100, best, B) == [SubmitUpdate(1)]
    # alice would only lose by answering with it
    assert respond_to_close(onchain, 0, closing_balance_a, 1_000, 100, best, A) == []
    # too late to answer; settle once the period is over (or leave it to someone else)
    assert respond_to_close(onchain, 0, closing_balance_a, 1_000, 999, best, B) == []
    assert respond_to_close(onchain, 0, closing_balance_a, 1_000, 1_000, best, B) == [SubmitSettle()]
    assert respond_to_close(onchain, 0, closing_balance_a, 1_000, 1_000, best, B, settle=False) == []
