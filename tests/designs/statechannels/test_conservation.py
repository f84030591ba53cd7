"""Conservation in the Adjudicator (hypothesis): whatever channels are funded, however they end (concluded
or by timeout, over- or under-funded), the contract's balance is always the sum of its holdings, every
payout is what `rules.payout` predicts, and nobody is paid more than its outcome."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.statechannels.party import conclude_together, deliver
from l2.designs.statechannels.rules import payout

from .conftest import DURATION, ETHER

channels = st.lists(st.tuples(st.integers(0, 3 * ETHER), st.integers(0, 3 * ETHER), st.integers(0, 3 * ETHER),
                              st.integers(0, 10**18), st.booleans()), min_size=1, max_size=3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=channels)
def test_holdings_always_add_up_to_the_contract_balance(chain, contracts, alice, bob, open_channel, specs):
    adjudicator = contracts["adjudicator"]
    snapshot = chain.snapshot()
    try:
        outstanding = {}
        for deposit_a, deposit_b, outcome_a, paid, by_timeout in specs:
            # The outcome may promise more or less than was deposited (an underfunded channel pays in order).
            outcome = (outcome_a, deposit_a + deposit_b)
            pa, pb = open_channel(chain, contracts, alice, bob, app="payment", deposits=outcome, fund=False)
            held = 0
            for party, amount in ((pa, deposit_a), (pb, deposit_b)):
                if amount:
                    party.deposit(amount, held)
                    held += amount
            # These parties play on a channel however (under)funded, to put the Adjudicator to the test.
            pa.funding_checked = pb.funding_checked = True
            amount = min(paid, outcome[0])
            if amount:
                deliver(pa.pay(amount), pb)
            state = pa.latest
            if by_timeout:
                pb.challenge()
                chain.advance_time(DURATION)
            else:
                conclude_together([pa, pb])
                pb.conclude(transfer=False)
                state = pa.final[0]
            expected_paid, remaining, held_after = payout(held, state.outcome)
            before = chain.balance(alice.address), chain.balance(bob.address)
            with chain.record() as txs:
                pb.transfer(state, state.outcome)
            assert chain.balance(alice.address) == before[0] + expected_paid[0]
            assert chain.balance(bob.address) == before[1] + expected_paid[1] - txs[0].fee_wei
            assert pa.held() == held_after and all(p <= o for p, o in zip(expected_paid, state.outcome, strict=True))
            outstanding[pa.channel_id] = held_after
            if any(remaining):  # underfunded: what is still owed is recorded, the old outcome no longer pays
                with chain.record() as again:
                    pb.transfer(state, remaining)
                assert again[0].status == 1 and pa.held() == 0
        total = sum(chain.call(adjudicator.functions.holdings(pa.fixed.asset, cid)) for cid in outstanding)
        assert chain.balance(adjudicator.address) == total
    finally:
        chain.revert(snapshot)
