"""Invariants of the rules, with hypothesis (no proofs: the circuit proves these same rules, and the
end-to-end tests prove batches of them): funds are conserved to the wei, nonces only grow, and the state
rebuilt from published data alone (what Layer 1 sees) is the operator's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from l2.designs.zk import babyjub
from l2.designs.zk.batch import Shape, build
from l2.designs.zk.errors import BadSignature, TxRejected
from l2.designs.zk.l1 import apply_public
from l2.designs.zk.state import (
    QueueEntry,
    State,
    apply_entry,
    apply_fees,
    apply_transfer,
    float_encode,
    pk_hash,
    transfer,
)

KEYS = [f"prop key {i}".encode() for i in range(4)]
PKS = [pk_hash(babyjub.public_key(k)) for k in KEYS]  # computed once: signing is the slow part
DOMAIN = 99
SHAPE = Shape(4, 4, 6)

steps = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 3 * 10**9),
                           st.integers(0, 2000), st.booleans()), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)
@given(deposits=st.lists(st.integers(1, 10**6), min_size=4, max_size=4), steps=steps)
def test_funds_are_conserved_and_the_published_data_rebuilds_the_state(deposits, steps):
    state = State(SHAPE.depth)
    entries = [QueueEntry(i + 1, PKS[i], float_encode(d * 10**3)) for i, d in enumerate(deposits)]
    batch = build(state, entries, [], fee_index=0, domain=DOMAIN, shape=SHAPE)
    state = batch.new_state
    deposited = sum(e.amount for e in entries)
    withdrawn = fees = 0
    nonces = {i: 0 for i in range(1, 5)}
    applied = []
    for sender, receiver, amount, fee, forge in steps:
        frm = sender + 1
        to = 0 if receiver == 4 else receiver + 1
        tx = transfer(KEYS[sender], DOMAIN, frm, to, amount, fee, nonces[frm])
        if forge:  # someone else's key signs for the sender: refused, whatever the amounts
            tx = transfer(KEYS[(sender + 1) % 4], DOMAIN, frm, to, amount, fee, nonces[frm])
        try:
            state = apply_transfer(state, tx, DOMAIN)
        except (TxRejected, BadSignature):
            assert forge or amount + fee > state.account(frm).balance
            continue
        assert not forge
        nonces[frm] += 1
        withdrawn += amount if to == 0 else 0
        fees += fee
        applied.append(tx)
    state = apply_fees(state, 1, fees)
    assert state.total() + withdrawn == deposited
    assert all(state.account(i).nonce == n for i, n in nonces.items())
    # Layer 1's view: the same entries and the published 13-byte records, without signatures.
    public = State(SHAPE.depth)
    for entry in entries:
        public = apply_entry(public, entry)
    public, public_fees = apply_public(public, b"".join(tx.encode() for tx in applied))
    assert public_fees == fees and apply_fees(public, 1, fees).root == state.root
