"""The whole life of a channel, told as the protocol's story: open, pay both ways, settle the net."""

from __future__ import annotations

import pytest

from l2.designs.channels.rules import A, B

ETHER = 10**18
PERIOD = 100


def _gas_cost(receipt) -> int:
    return receipt.gasUsed * receipt.effectiveGasPrice


def _pay_back_and_forth(pay, party_a, party_b):
    for _ in range(5):
        pay(party_a, party_b, 3 * 10**16)
        pay(party_b, party_a, 10**16)
    # net: A paid B 5 * 0.02 = 0.1 ETH
    assert party_a.nonce == party_b.nonce == 10
    assert party_a.balance() == party_b.balance(A) == ETHER - 10**17
    assert party_b.balance() == party_a.balance(B) == ETHER + 10**17


def test_cooperative_lifecycle_eth_settles_the_net_result(chain, channel, pay):
    party_a, party_b = channel
    _pay_back_and_forth(pay, party_a, party_b)
    before_a, before_b = chain.balance(party_a.address), chain.balance(party_b.address)
    proposal = party_a.propose_cooperative_close()
    receipt = party_b.accept_cooperative_close(proposal)  # Bob submits, Bob pays the gas
    assert chain.balance(party_a.address) - before_a == ETHER - 10**17
    assert chain.balance(party_b.address) - before_b == ETHER + 10**17 - _gas_cost(receipt)
    assert chain.balance(party_a.registry.address) == 0
    (event,) = chain.events(receipt, party_a.registry, "CooperativelyClosed")
    assert (event.payoutA, event.payoutB) == (ETHER - 10**17, ETHER + 10**17)


@pytest.mark.parametrize("token_fixture", ["token", "no_bool_token"])
def test_cooperative_lifecycle_erc20(chain, registry, alice, bob, open_channel, pay, token_fixture, token,
                                     no_bool_token):
    # Both token fixtures are requested by name: a session fixture first created inside a test
    # would be rolled back by the per-test snapshot.
    token = {"token": token, "no_bool_token": no_bool_token}[token_fixture]
    party_a, party_b = open_channel(chain, registry, alice, bob, token=token.address)
    assert token.functions.balanceOf(registry.address).call() == 2 * ETHER
    start_a, start_b = (token.functions.balanceOf(p.address).call() for p in (party_a, party_b))
    _pay_back_and_forth(pay, party_a, party_b)
    party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    assert token.functions.balanceOf(registry.address).call() == 0
    assert token.functions.balanceOf(alice.address).call() - start_a == ETHER - 10**17
    assert token.functions.balanceOf(bob.address).call() - start_b == ETHER + 10**17


@pytest.mark.parametrize("token_fixture", [None, "no_bool_token"])
def test_disputed_lifecycle_stale_close_is_overridden_by_newer_state(
    chain, registry, alice, bob, open_channel, pay, token_fixture, no_bool_token
):
    token = no_bool_token if token_fixture else None
    kwargs = {"token": token.address} if token else {}
    party_a, party_b = open_channel(chain, registry, alice, bob, **kwargs)
    pay(party_a, party_b, 4 * 10**17)
    stale = party_a.latest  # A paid 0.4
    pay(party_b, party_a, 10**17)
    pay(party_a, party_b, 2 * 10**17)  # A has now paid 0.6, received 0.1

    # Alice cheats: she closes with the old proof in which she had paid only 0.4.
    receipt = party_a.close(stale)
    (closed,) = chain.events(receipt, registry, "ChannelClosed")
    assert closed.nonce == 1
    update = party_b.update_state()
    (updated,) = chain.events(update, registry, "StateUpdated")
    assert updated.nonce == 3

    chain.advance_time(PERIOD)
    settle = party_b.settle()
    (settled,) = chain.events(settle, registry, "ChannelSettled")
    assert (settled.payoutA, settled.payoutB) == (ETHER - 5 * 10**17, ETHER + 5 * 10**17)
    held = token.functions.balanceOf(registry.address).call() if token else chain.balance(registry.address)
    assert held == 0


def test_withdraw_without_closing_then_cooperative_close(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 3 * 10**17)
    request = party_b.request_withdraw(5 * 10**17, expiry=chain.now() + 3600)
    approval = party_a.approve_withdraw(request)
    before = chain.balance(party_b.address)
    receipt = party_b.withdraw(request, approval)
    assert chain.balance(party_b.address) - before == 5 * 10**17 - _gas_cost(receipt)
    assert chain.balance(party_a.registry.address) == 2 * ETHER - 5 * 10**17
    assert party_a.balance(B) == party_b.balance() == ETHER + 3 * 10**17 - 5 * 10**17

    pay(party_b, party_a, 10**17)  # payments continue after the withdrawal
    party_a.accept_cooperative_close(party_b.propose_cooperative_close())
    assert chain.balance(party_a.registry.address) == 0


def test_close_without_any_payment_returns_the_deposits(chain, channel):
    party_a, party_b = channel
    party_b.close()
    chain.advance_time(PERIOD)
    receipt = party_a.settle()
    (settled,) = chain.events(receipt, party_a.registry, "ChannelSettled")
    assert (settled.payoutA, settled.payoutB) == (ETHER, ETHER)


@pytest.fixture(scope="session")
def node_registry(node_chain):
    return node_chain.deploy("ChannelRegistry", 10, 30 * 24 * 3600)


def test_cooperative_lifecycle_on_a_real_node(node_chain, node_registry, open_channel, pay):
    alice, bob = node_chain.accounts[1], node_chain.accounts[2]
    party_a, party_b = open_channel(node_chain, node_registry, alice, bob)
    _pay_back_and_forth(pay, party_a, party_b)
    before_a = node_chain.balance(alice.address)
    party_b.accept_cooperative_close(party_a.propose_cooperative_close())
    assert node_chain.balance(alice.address) - before_a == ETHER - 10**17
    assert node_chain.balance(node_registry.address) == 0
