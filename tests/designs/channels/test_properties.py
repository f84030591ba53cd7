"""Property: any sequence of payments, deposits and withdrawals settles to exactly the off-chain
net result, and the registry always holds exactly what the channel owes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.channels.rules import A, B

PERIOD = 100
ETHER = 10**18

operation = st.tuples(
    st.sampled_from(["pay", "deposit", "withdraw"]),
    st.sampled_from([A, B]),
    st.integers(min_value=1, max_value=2 * ETHER),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(operation, min_size=1, max_size=8),
    deposits=st.tuples(st.integers(0, 2 * ETHER), st.integers(0, 2 * ETHER)),
    ending=st.sampled_from(["cooperative", "closed by A", "closed by B"]),
)
def test_random_histories_settle_to_the_off_chain_net_result(
    chain, registry, alice, bob, open_channel, pay, ops, deposits, ending
):
    snapshot = chain.snapshot()  # each example on a clean chain (the fixture reverts per test, not per example)
    try:
        parties = dict(zip((A, B), open_channel(chain, registry, alice, bob, deposit_a=deposits[0],
                                                deposit_b=deposits[1]), strict=True))
        for kind, side, amount in ops:
            me, partner = parties[side], parties[B if side == A else A]
            if kind == "pay":
                amount = min(amount, me.balance())
                if amount:
                    pay(me, partner, amount)
            elif kind == "deposit":
                me.deposit(amount)
                partner.refresh_funding()
            else:
                amount = min(amount, me.balance())
                if amount:
                    request = me.request_withdraw(amount, expiry=chain.now() + 3600)
                    me.withdraw(request, partner.approve_withdraw(request))
            assert me.funding == partner.funding
            assert chain.balance(registry.address) == me.funding.total  # holds exactly what it owes
            assert me.balance(A) + me.balance(B) == me.funding.total
            assert me.balance(A) >= 0 and me.balance(B) >= 0

        expected = (parties[A].balance(), parties[B].balance())
        if ending == "cooperative":
            receipt = parties[B].accept_cooperative_close(parties[A].propose_cooperative_close())
            event = "CooperativelyClosed"
        else:
            closer, other = (parties[A], parties[B]) if ending == "closed by A" else (parties[B], parties[A])
            closer.close()
            chain.advance_time(PERIOD)
            receipt = other.settle()
            event = "ChannelSettled"
        (result,) = chain.events(receipt, registry, event)
        assert (result.payoutA, result.payoutB) == expected
        assert chain.balance(registry.address) == 0
    finally:
        chain.revert(snapshot)
