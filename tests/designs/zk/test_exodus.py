"""Exodus: when a queued entry misses its inclusion window the rollup freezes, and every account leaves
once with a Merkle proof against the last verified root, rebuilt by the user from Layer-1 data alone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from l2.designs.zk import l1
from l2.designs.zk.batch import build
from l2.errors import TransactionReverted

from .conftest import ETH


def _freeze(zk):
    """Alice deposits; the operator never includes it; the window passes; bob freezes the rollup."""
    zk.rollup.deposit(zk.account("alice"), zk.index("alice"), ETH)
    with pytest.raises(TransactionReverted, match="NoOverdueEntry"):
        zk.rollup.activate_exodus(zk.account("bob"))
    zk.chain.advance_time(zk.rollup.inclusion_window + 1)
    zk.rollup.activate_exodus(zk.account("bob"))
    assert zk.rollup.frozen()


def test_an_exit_before_the_freeze_is_refused(zk):
    state = zk.state()
    with pytest.raises(TransactionReverted, match="NotFrozen"):
        zk.rollup.exit(zk.account("alice"), zk.index("alice"), state)
    with pytest.raises(TransactionReverted, match="NoOverdueEntry"):
        zk.rollup.activate_exodus(zk.account("alice"))  # nothing queued: nothing overdue


def test_everyone_exits_once_and_the_contract_is_emptied(zk, tmp_path):
    op = zk.make_operator(tmp_path)
    op.submit(zk.transfer(op, "alice", "bob", ETH // 2, fee=10**12))
    op.step(urgent=True)
    _freeze(zk)
    op.submit(zk.transfer(op, "bob", "alice", ETH // 4))
    assert op.step(urgent=True) == []  # a frozen rollup takes no batch
    batch = build(op.state, [], op.pending, fee_index=0, domain=zk.rollup.domain, shape=zk.rollup.shape)
    with pytest.raises(TransactionReverted, match="Frozen"):
        zk.rollup.submit(zk.operator, batch, zk.prover.prove(batch.inputs))
    state = l1.rebuild_state(zk.rollup)  # what any user can compute without the operator
    for name in ("alice", "bob", "operator"):
        who = zk.account(name)
        before = zk.chain.balance(who.address)
        receipt = zk.rollup.exit(zk.account("bob"), zk.index(name), state)  # anyone may send it; the owner is paid
        paid = zk.chain.balance(who.address) - before
        if name == "bob":
            paid += receipt.gasUsed * receipt.effectiveGasPrice
        assert paid == state.account(zk.index(name)).balance
        assert receipt.gasUsed < 350_000  # Poseidon in Yul: 319k at depth 8 (832k in plain Solidity)
        with pytest.raises(TransactionReverted, match="AlreadyExited"):
            zk.rollup.exit(who, zk.index(name), state)
    (position, _), = zk.rollup.queued()
    zk.rollup.refund_queued(zk.account("bob"), position)  # alice's deposit that never made it in
    with pytest.raises(TransactionReverted, match="NotRefundable"):
        zk.rollup.refund_queued(zk.account("bob"), position)
    assert zk.rollup.held() == 0


def test_an_exit_with_a_stale_or_inflated_balance_is_refused(zk, tmp_path):
    stale = zk.state()
    op = zk.make_operator(tmp_path)
    op.submit(zk.transfer(op, "alice", "bob", ETH))
    op.step(urgent=True)
    _freeze(zk)
    alice = zk.index("alice")
    with pytest.raises(TransactionReverted, match="BadMerkleProof"):
        zk.rollup.exit(zk.account("alice"), alice, stale)  # her balance before the transfer
    current = zk.state()
    inflated = current.with_account(alice, replace(current.account(alice), balance=5 * ETH))
    with pytest.raises(TransactionReverted, match="BadMerkleProof"):
        zk.rollup.exit(zk.account("alice"), alice, inflated)
    zk.rollup.exit(zk.account("alice"), alice, current)
