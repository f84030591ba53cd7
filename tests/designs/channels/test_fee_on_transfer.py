"""Fee-on-transfer tokens: the registry credits what actually arrived, so it stays solvent in them.

Crediting the nominal deposit would leave the registry holding less than it owes, and the last
settler of that token unpaid (its payout deferred forever). The registry measures its balance
before and after each pull instead; the parties read the credited amounts back from Layer 1.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.channels.party import Party
from l2.designs.channels.rules import Funding
from l2.errors import TransactionReverted

ETHER = 10**18
PERIOD = 100
FEE_BPS = 100  # the fixture's 1 %


def _fee(amount: int, bps: int = FEE_BPS) -> int:
    return amount * bps // 10_000


def _tokens(token, who) -> int:
    return token.functions.balanceOf(getattr(who, "address", who)).call()


def _no_deferred_payouts(chain, registry, receipts) -> None:
    for receipt in receipts:
        assert chain.events(receipt, registry, "PayoutDeferred") == []


def test_two_fee_token_channels_settle_every_participant_and_leave_the_registry_at_zero(
    chain, registry, alice, bob, fee_token, open_channel, pay
):
    start = {who.address: _tokens(fee_token, who) for who in (alice, bob)}
    one_a, one_b = open_channel(chain, registry, alice, bob, token=fee_token.address, deposit_a=100 * ETHER,
                                deposit_b=50 * ETHER)
    two_b, two_a = open_channel(chain, registry, bob, alice, token=fee_token.address, deposit_a=80 * ETHER,
                                deposit_b=40 * ETHER)  # Bob opens this one: he is its participant A
    assert one_a.funding == one_b.funding == Funding(99 * ETHER, 99 * ETHER // 2)  # 1 % stayed with the token
    assert two_a.funding == Funding(80 * ETHER - _fee(80 * ETHER), 40 * ETHER - _fee(40 * ETHER))
    receipt = one_b.deposit(10 * ETHER)  # a top-up is credited as it arrives too, and says so
    (deposited,) = chain.events(receipt, registry, "Deposited")
    assert (deposited.amount, deposited.totalDeposit) == (99 * ETHER // 10, 99 * ETHER // 2 + 99 * ETHER // 10)
    one_a.refresh_funding()
    owed = one_a.funding.total + two_a.funding.total
    assert _tokens(fee_token, registry) == owed  # solvent: it holds exactly what it owes

    pay(one_a, one_b, 30 * ETHER)
    pay(one_b, one_a, 5 * ETHER)
    pay(two_a, two_b, 7 * ETHER)
    expected = {"one": (one_a.balance(), one_b.balance()), "two": (two_b.balance(), two_a.balance())}
    r_coop = one_b.accept_cooperative_close(one_a.propose_cooperative_close())
    two_b.close()
    chain.advance_time(PERIOD)
    r_settle = two_a.settle()  # the last settler of the token: paid in full
    (closed,) = chain.events(r_coop, registry, "CooperativelyClosed")
    (settled,) = chain.events(r_settle, registry, "ChannelSettled")
    assert (closed.payoutA, closed.payoutB) == expected["one"]
    assert (settled.payoutA, settled.payoutB) == expected["two"]
    _no_deferred_payouts(chain, registry, (r_coop, r_settle))
    assert _tokens(fee_token, registry) == 0
    assert registry.functions.pending(fee_token.address, alice.address).call() == 0
    assert registry.functions.pending(fee_token.address, bob.address).call() == 0
    # Each paid what it deposited (nominal: the fee was its own), each got its payouts less the fee.
    got_alice = [closed.payoutA, settled.payoutB]
    got_bob = [closed.payoutB, settled.payoutA]
    assert _tokens(fee_token,
                   alice) - start[alice.address] == sum(p - _fee(p) for p in got_alice) - 100 * ETHER - 40 * ETHER
    assert _tokens(fee_token, bob) - start[bob.address] == sum(p - _fee(p) for p in got_bob) - 60 * ETHER - 80 * ETHER


def test_token_deposit_that_delivers_nothing_is_refused(chain, registry, alice, bob, fee_token, open_channel):
    party_a, party_b = open_channel(chain, registry, alice, bob, token=fee_token.address, deposit_a=ETHER, deposit_b=0)
    chain.transact(fee_token.functions.setFee(10_000), alice)  # the whole transfer is kept as fee
    before = (_tokens(fee_token, alice), _tokens(fee_token, bob), _tokens(fee_token, registry))
    with pytest.raises(TransactionReverted, match=rf"DepositNotReceived\({fee_token.address.lower()!r}, {ETHER}\)"):
        Party.open(chain, registry, alice, bob.address, token=fee_token.address, challenge_period=PERIOD,
                   deposit=ETHER)
    with pytest.raises(TransactionReverted, match="DepositNotReceived"):
        party_b.deposit(ETHER)
    assert (_tokens(fee_token, alice), _tokens(fee_token, bob), _tokens(fee_token, registry)) == before
    assert party_b.refresh_funding() == Funding(ETHER - _fee(ETHER), 0)


@pytest.fixture
def hostile_token(chain, alice):
    token = chain.deploy("ChannelReentrantToken")
    chain.transact(token.functions.mint(alice.address, 1000 * ETHER), alice)
    chain.transact(token.functions.mint(token.address, 1000 * ETHER), alice)  # its own, to deposit with
    return token


def test_nested_token_pull_is_refused_so_no_deposit_is_counted_twice(chain, registry, alice, bob, hostile_token):
    party_a, _ = Party.open(chain, registry, alice, bob.address, token=hostile_token.address,
                            challenge_period=PERIOD, deposit=ETHER)
    # During Alice's next pull the token opens a channel of its own with a deposit: without the
    # guard, its tokens would arrive inside Alice's before/after window and be credited to both.
    chain.transact(hostile_token.functions.approveFromSelf(registry.address, 5 * ETHER), alice)
    nested = registry.encode_abi("open", args=[bob.address, hostile_token.address, PERIOD, 5 * ETHER])
    chain.transact(hostile_token.functions.arm(registry.address, nested), alice)
    receipt = party_a.deposit(2 * ETHER)
    assert hostile_token.functions.callFailed().call()
    error = chain.decode_revert(bytes(hostile_token.functions.callError().call()))
    assert (error.error_name, error.error_args) == ("TokenPullReentered", (hostile_token.address.lower(),))
    (deposited,) = chain.events(receipt, registry, "Deposited")
    assert (deposited.amount, deposited.totalDeposit) == (2 * ETHER, 3 * ETHER)
    assert _tokens(hostile_token, registry) == 3 * ETHER == party_a.funding.total


def test_deposit_is_not_credited_to_a_channel_closed_during_its_pull(chain, registry, alice, hostile_token):
    """The token is Alice's partner and closes the channel from inside her deposit's transferFrom:
    her credit would come after the closing balance was fixed and be paid to the token at settlement."""
    party_a, _ = Party.open(chain, registry, alice, hostile_token.address, token=hostile_token.address,
                            challenge_period=PERIOD, deposit=ETHER)
    zero_state = (party_a.channel_id, 0, 0, 0, 0, 0, b"\0" * 32)
    close = registry.encode_abi("close", args=[party_a.params.as_tuple(), zero_state, b""])
    chain.transact(hostile_token.functions.arm(registry.address, close), alice)
    before = _tokens(hostile_token, alice)
    with pytest.raises(TransactionReverted, match="ChannelNotOpen"):
        party_a.deposit(ETHER)
    channel, _ = party_a.onchain_state()
    assert channel[3] == 1 and channel[0] == ETHER  # still open, the first deposit only
    assert _tokens(hostile_token, alice) == before


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fee_bps=st.integers(0, 3_000),
    deposits=st.tuples(st.integers(1, 100 * ETHER), st.integers(0, 100 * ETHER)),
    paid=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    ending=st.sampled_from(["cooperative", "closed by A", "closed by B"]),
)
def test_fee_token_channels_conserve_to_the_wei(chain, registry, alice, bob, fee_token, open_channel, pay,
                                               fee_bps, deposits, paid, ending):
    snapshot = chain.snapshot()  # each example on a clean chain
    try:
        chain.transact(fee_token.functions.setFee(fee_bps), alice)
        start = (_tokens(fee_token, alice), _tokens(fee_token, bob))
        party_a, party_b = open_channel(chain, registry, alice, bob, token=fee_token.address, deposit_a=deposits[0],
                                        deposit_b=deposits[1])
        credited = tuple(d - _fee(d, fee_bps) for d in deposits)
        assert party_a.funding == party_b.funding == Funding(*credited)
        assert _tokens(fee_token, registry) == sum(credited)
        for payer, receiver, share in ((party_a, party_b, paid[0]), (party_b, party_a, paid[1])):
            amount = int(payer.balance() * share)
            if amount:
                pay(payer, receiver, amount)
        expected = (party_a.balance(), party_b.balance())
        if ending == "cooperative":
            receipt = party_b.accept_cooperative_close(party_a.propose_cooperative_close())
            (result,) = chain.events(receipt, registry, "CooperativelyClosed")
        else:
            (party_a if ending == "closed by A" else party_b).close()
            chain.advance_time(PERIOD)
            receipt = party_a.settle()
            (result,) = chain.events(receipt, registry, "ChannelSettled")
        payouts = (result.payoutA, result.payoutB)
        assert payouts == expected and sum(payouts) == sum(credited)
        _no_deferred_payouts(chain, registry, [receipt])
        assert _tokens(fee_token, registry) == 0
        for who, before, deposit, payout in zip((alice, bob), start, deposits, payouts, strict=True):
            assert _tokens(fee_token, who) - before == payout - _fee(payout, fee_bps) - deposit
    finally:
        chain.revert(snapshot)
