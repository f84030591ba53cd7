"""Properties over random transaction streams: the verifier's re-execution from posted data yields the
sequencer's roots, and funds are conserved (L2 balances + fees + withdrawals = deposits)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eth_account import Account as EthAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import proofs
from l2.designs.optimistic.errors import InvalidTransaction
from l2.designs.optimistic.state import State, apply, queue_op_for
from l2.designs.optimistic.txs import QUEUE_DEPOSIT, QueueEntry, Transfer, Withdrawal, domain, round_amount, sign

KEYS = [EthAccount.from_key(bytes([i + 1]) * 32) for i in range(4)]
DOMAIN = domain(31337, "0x" + "ab" * 20)

ops = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "transfer", "withdraw"]),
        st.integers(0, 3),  # who
        st.integers(0, 3),  # to
        st.integers(0, 1),  # token
        st.integers(1, 10**18),  # amount
        st.integers(0, 2047),  # fee
    ),
    min_size=1,
    max_size=25,
)


def _run_stream(stream):
    """Sequencer-style: apply signed submissions, refusing invalid ones; returns chunks and totals."""
    state, pairs, entries = State(), [], {}
    deposited, withdrawn = [0, 0], [0, 0]
    for kind, who, to, token, amount, fee in stream:
        owner = KEYS[who]
        if kind == "deposit":
            entry = QueueEntry(len(entries), QUEUE_DEPOSIT, owner.address, 0, token, amount)
            entries[entry.index] = entry
            tx = queue_op_for(state, entry)
            deposited[token] += amount
        else:
            sender = state.index_of(owner.address)
            if sender is None:
                continue
            nonce = state.account(sender).nonce
            if kind == "transfer":
                recipient = state.index_of(KEYS[to].address)
                tx = Transfer(sender, 0 if recipient is None else recipient, token, round_amount(amount), fee)
            else:
                tx = Withdrawal(sender, owner.address, token, round_amount(amount), fee)
            tx = sign(tx, owner.key, DOMAIN, nonce)
        try:
            state, receipt = apply(state, tx, DOMAIN)
        except InvalidTransaction:
            continue
        if receipt.withdrawal:
            withdrawn[receipt.withdrawal[1]] += receipt.withdrawal[2]
        pairs.append((tx.encode(), state.root))
    return state, pairs, entries, deposited, withdrawn


@settings(max_examples=150, deadline=None)
@given(ops)
def test_reexecution_from_posted_data_matches_and_funds_are_conserved(stream):
    state, pairs, entries, deposited, withdrawn = _run_stream(stream)
    if not pairs:
        return
    chunks = batch_mod.make_chunks(pairs, 0)
    replayed = State()
    for chunk in batch_mod.split(batch_mod.encode(chunks), 0):  # what a verifier sees
        replayed, _ = apply(replayed, proofs.decode_chunk(chunk, entries), DOMAIN)
        assert replayed.root == chunk.post_root
    assert replayed.root == state.root
    for token in (0, 1):
        assert state.total(token) + withdrawn[token] == deposited[token]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_verifier_recomputes_the_sequencers_roots_on_chain(env, stream):
    from l2.designs.optimistic.sequencer import Sequencer
    from l2.designs.optimistic.wallet import Wallet

    chain = env.chain
    snapshot = chain.snapshot()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seq = Sequencer(env.rollup, env.proposer, Path(tmp) / "seq.db", max_batch=8)
            wallets = [Wallet(u, env.rollup, seq) for u in env.users[:4]]
            for kind, who, to, token, amount, fee in stream:
                w = wallets[who]
                try:
                    if kind == "deposit":
                        w.deposit(max(amount, env.rollup.fn.minDeposits(token).call()), token)
                        seq.sync_queue()
                    elif kind == "transfer":
                        w.transfer(wallets[to].address, round_amount(amount), token, fee)
                    else:
                        w.withdraw(round_amount(amount), token, fee=fee)
                except InvalidTransaction:
                    pass
            while seq.post_batch() is not None:
                pass
            verifier = env.verifier()
            assert verifier.sync() == []
            assert verifier.state.root == seq.state.root == env.rollup.tip_root()
            withdrawn = [sum(c.amount for c in verifier.claimables() if c.token == t) for t in (0, 1)]
            bonds = env.rollup.fn.bonds(env.proposer.address).call()
            assert chain.balance(env.rollup.address) == verifier.state.total(0) + withdrawn[0] + bonds
            assert env.token.functions.balanceOf(env.rollup.address).call() == verifier.state.total(1) + withdrawn[1]
            seq.close()
    finally:
        chain.revert(snapshot)
