"""Deliberately faulty sequencer behaviours, for tests and the demo. Each must be caught by the challenger.

A fault takes the sequencer, the batch's previous root and its honest (body, post root) pairs,
and returns the pairs to post instead. Faults that append a transaction work on the state after
the honest pairs (`sequencer.state`); they need the proposer to own a funded L2 account.
"""

from __future__ import annotations

from l2.core.crypto import keccak
from l2.designs.optimistic import txs
from l2.designs.optimistic.errors import BatchStateMismatch
from l2.designs.optimistic.state import Account, State, credit, with_raw_account
from l2.designs.optimistic.txs import CollectFees, Transfer, Withdrawal


def _own_index(seq) -> int:
    index = seq.state.index_of(seq.proposer.address)
    if index is None:
        raise BatchStateMismatch("this fault needs the proposer to have an L2 account (deposit to it first)")
    return index


def _richest_other(state: State, own: int) -> int:
    candidates = [(state.account(i).balances[0], i) for i in state.members if i != own]
    if not candidates:
        raise BatchStateMismatch("this fault needs another funded L2 account")
    return max(candidates)[1]


def wrong_root(seq, prev_root: bytes, pairs: list) -> list:
    """The last transition commits a root that no execution produces."""
    body, root = pairs[-1]
    return pairs[:-1] + [(body, keccak(b"wrong root" + root))]


def forged_transfer(seq, prev_root: bytes, pairs: list) -> list:
    """Move half of a victim's ETH to the proposer, signed by the proposer instead of the victim."""
    state = seq.state
    own = _own_index(seq)
    victim_index = _richest_other(state, own)
    victim = state.account(victim_index)
    amount = txs.round_amount(victim.balances[0] // 2)
    tx = txs.sign(Transfer(victim_index, own, 0, amount), seq.proposer.key, seq.rollup.domain, victim.nonce)
    after = with_raw_account(state, victim_index, Account(victim.addr, victim.nonce + 1, credit(victim.balances, 0,
                                                                                                -amount)))
    mine = after.account(own)
    after = with_raw_account(after, own, Account(mine.addr, mine.nonce, credit(mine.balances, 0, amount)))
    return pairs + [(tx.encode(), after.root)]


def print_money(seq, prev_root: bytes, pairs: list) -> list:
    """The proposer sends far more than it owns; the recipient is credited in full."""
    state = seq.state
    own = _own_index(seq)
    to = _richest_other(state, own)
    mine = state.account(own)
    amount = txs.round_amount(mine.balances[0] + 10**21)
    tx = txs.sign(Transfer(own, to, 0, amount), seq.proposer.key, seq.rollup.domain, mine.nonce)
    after = with_raw_account(state, own, Account(mine.addr, mine.nonce + 1, credit(mine.balances, 0,
                                                                                   -mine.balances[0])))
    rich = after.account(to)
    after = with_raw_account(after, to, Account(rich.addr, rich.nonce, credit(rich.balances, 0, amount)))
    return pairs + [(tx.encode(), after.root)]


def skip_deposit(seq, prev_root: bytes, pairs: list) -> list:
    """Consume a deposit from the queue without crediting it (the root does not move)."""
    for i, (body, _) in enumerate(pairs):
        if body[0] == txs.TX_QUEUE:
            before = pairs[i - 1][1] if i else prev_root
            return pairs[:i] + [(body, before)] + pairs[i + 1:]
    raise BatchStateMismatch("skip_deposit needs a queued deposit in the batch")


def wrong_withdrawal(seq, prev_root: bytes, pairs: list) -> list:
    """A correctly signed withdrawal of the proposer's whole balance that is never debited on L2."""
    state = seq.state
    own = _own_index(seq)
    mine = state.account(own)
    amount = txs.round_amount(mine.balances[0])
    tx = txs.sign(Withdrawal(own, seq.proposer.address, 0, amount), seq.proposer.key, seq.rollup.domain, mine.nonce)
    return pairs + [(tx.encode(), state.root)]


def steal_fees(seq, prev_root: bytes, pairs: list) -> list:
    """Collect the ETH fee pool into another user's account instead of the proposer's own."""
    state = seq.state
    to = _richest_other(state, _own_index(seq))
    rich = state.account(to)
    credited = Account(rich.addr, rich.nonce, credit(rich.balances, 0, state.fees[0]))
    after = with_raw_account(state, to, credited, (0,) + state.fees[1:])
    return pairs + [(CollectFees(to, 0).encode(), after.root)]


FAULTS = {
    "wrong_root": wrong_root,
    "forged_transfer": forged_transfer,
    "print_money": print_money,
    "skip_deposit": skip_deposit,
    "wrong_withdrawal": wrong_withdrawal,
    "steal_fees": steal_fees,
}
