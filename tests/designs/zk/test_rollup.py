"""The zk-rollup end to end on the embedded chain: real proofs verified by ZkRollup, instant withdrawals,
and each attack of issue 15 tried and refused with its exact reason."""

from __future__ import annotations

import pytest

from l2.designs.zk import l1
from l2.designs.zk.batch import build
from l2.designs.zk.errors import BadSignature, TxRejected
from l2.designs.zk.state import Transfer, float_encode
from l2.errors import TransactionReverted

from .conftest import ETH


def _submit_raw(zk, new_root, fee_index, consumed, tx_data, proof):
    call = zk.rollup.fn.submitBatch(new_root, fee_index, consumed, tx_data, l1.proof_words(proof))
    return zk.chain.transact(call, zk.operator, gas=l1.SUBMIT_GAS)


def test_transfers_and_a_withdrawal_are_proven_verified_and_paid_at_once(zk, tmp_path):
    op = zk.make_operator(tmp_path)
    alice, bob = zk.account("alice"), zk.account("bob")
    op.submit(zk.transfer(op, "alice", "bob", ETH // 2, fee=10**12))
    op.submit(zk.transfer(op, "bob", None, ETH))  # a withdrawal to bob's Layer-1 address
    (event,) = op.step(urgent=True)
    assert "verified on Layer 1" in event.text and "1 withdrawal" in event.text
    state = zk.state()  # rebuilt from Layer-1 data alone
    assert state.root == op.state.root == zk.rollup.root()
    assert state.account(zk.index("alice")).balance == 2 * ETH - ETH // 2 - 10**12
    assert state.account(zk.index("bob")).balance == 2 * ETH + ETH // 2 - ETH
    assert state.account(zk.index("operator")).balance == zk.rollup.min_deposit + 10**12
    before = zk.chain.balance(bob.address)
    receipt = zk.rollup.claim(bob)  # no window to wait out: the batch is proven
    assert zk.chain.balance(bob.address) == before + ETH - receipt.gasUsed * receipt.effectiveGasPrice
    assert zk.rollup.held() == state.total()
    assert alice.address != bob.address


def test_a_proof_replayed_is_refused(zk, tmp_path):
    op = zk.make_operator(tmp_path)
    op.submit(zk.transfer(op, "alice", "bob", ETH // 4))
    op.step(urgent=True)
    batch, proof = op.last_batch, op.last_proof
    with pytest.raises(TransactionReverted, match="InvalidProof"):
        zk.rollup.submit(zk.operator, batch, proof)


def test_a_proof_for_another_old_root_is_refused(zk, tmp_path):
    op = zk.make_operator(tmp_path)
    stale = op.state
    tx = zk.transfer(op, "alice", "bob", ETH // 4)
    batch = build(stale, [], [tx], fee_index=0, domain=zk.rollup.domain, shape=zk.rollup.shape)
    proof = zk.prover.prove(batch.inputs)
    op.submit(zk.transfer(op, "bob", "alice", ETH // 8))
    op.step(urgent=True)  # the root moves on
    with pytest.raises(TransactionReverted, match="InvalidProof"):
        zk.rollup.submit(zk.operator, batch, proof)


@pytest.fixture(scope="module")
def proven(zk_session, tmp_path_factory):
    """A valid batch and its proof, not yet submitted (data only: every test starts from the same root)."""
    zk = zk_session
    op = zk.make_operator(tmp_path_factory.mktemp("proven"))
    txs = [zk.transfer(op, "alice", "bob", ETH // 4, fee=10**12), zk.transfer(op, "bob", None, ETH // 8)]
    batch = build(op.state, [], txs, fee_index=zk.index("operator"), domain=zk.rollup.domain, shape=zk.rollup.shape)
    op.close()
    return batch, zk.prover.prove(batch.inputs)


def test_a_batch_costs_the_same_gas_whatever_randomness_its_proof_drew(zk, proven):
    """Groth16 proofs are randomized and calldata costs 4 gas a zero byte, 16 a non-zero one: the operator posts
    each proof re-randomized until it has no zero byte, so a seeded story replays to the gas."""
    batch, proof = proven
    vk = zk.prover.verifying_key()
    variants = (l1.rerandomized(proof, vk, r, 1) for r in range(2, 200))
    with_zero = next(p for p in variants if b"\0" in p)  # two thirds of them have one
    assert zk.prover.verify(with_zero, [batch.input_hash])  # another proof of the same batch
    gases = set()
    for candidate in (proof, with_zero):
        posted = l1.without_zero_bytes(candidate, vk)
        assert b"\0" not in posted and zk.prover.verify(posted, [batch.input_hash])
        snapshot = zk.chain.snapshot()
        gases.add(_submit_raw(zk, batch.new_root, batch.fee_index, 0, batch.tx_data(), posted).gasUsed)
        zk.chain.revert(snapshot)
    assert len(gases) == 1


def test_the_untouched_batch_is_accepted(zk, proven):
    batch, proof = proven
    assert zk.prover.verify(proof, [batch.input_hash])
    receipt = _submit_raw(zk, batch.new_root, batch.fee_index, 0, batch.tx_data(), proof)
    assert receipt.status == 1 and zk.rollup.root() == batch.new_root


@pytest.mark.parametrize("position", [0, 4, 7, 12, 13 + 10])
def test_one_byte_of_transaction_data_changed_is_refused(zk, proven, position):
    batch, proof = proven
    data = bytearray(batch.tx_data())
    data[position] ^= 0x01
    with pytest.raises(TransactionReverted, match="InvalidProof"):
        _submit_raw(zk, batch.new_root, batch.fee_index, 0, bytes(data), proof)
    assert zk.rollup.root() == batch.old_root


def test_a_wrong_new_root_or_fee_account_is_refused(zk, proven):
    batch, proof = proven
    with pytest.raises(TransactionReverted, match="InvalidProof"):
        _submit_raw(zk, batch.new_root + 1, batch.fee_index, 0, batch.tx_data(), proof)
    with pytest.raises(TransactionReverted, match="InvalidProof"):
        _submit_raw(zk, batch.new_root, zk.index("alice"), 0, batch.tx_data(), proof)


def test_a_tampered_proof_is_refused(zk, proven):
    batch, proof = proven
    forged = bytearray(proof)
    forged[200] ^= 0x01
    with pytest.raises(TransactionReverted):
        _submit_raw(zk, batch.new_root, batch.fee_index, 0, batch.tx_data(), bytes(forged))


def test_only_the_operator_submits(zk, proven):
    batch, proof = proven
    call = zk.rollup.fn.submitBatch(batch.new_root, batch.fee_index, 0, batch.tx_data(), l1.proof_words(proof))
    with pytest.raises(TransactionReverted, match="NotOperator"):
        zk.chain.transact(call, zk.account("alice"), gas=l1.SUBMIT_GAS)


def test_an_overspend_or_a_forged_signature_is_refused_before_layer_1(zk, tmp_path):
    op = zk.make_operator(tmp_path)
    with pytest.raises(TxRejected, match="has 2000000000000000000 wei"):
        op.submit(zk.transfer(op, "alice", "bob", 3 * ETH))
    good = zk.transfer(op, "alice", "bob", ETH)
    forged = Transfer(good.from_, good.to, float_encode(2 * ETH), good.fee_f, good.nonce, good.pub, good.sig)
    with pytest.raises(BadSignature):
        op.submit(forged)  # alice's signature over 1 ETH does not cover 2
    bob_signs_for_alice = Transfer(good.from_, good.to, good.amount_f, 0, good.nonce,
                                   *_signed_by(zk, "bob", good))
    with pytest.raises(TxRejected, match="not account"):
        op.submit(bob_signs_for_alice)
    with pytest.raises(TxRejected, match="expects nonce"):
        op.submit(Transfer(good.from_, good.to, good.amount_f, 0, good.nonce + 1, good.pub, good.sig))
    assert op.pending == [] and op.step(urgent=True) == []


def _signed_by(zk, name, tx):
    from l2.designs.zk import babyjub

    key = zk.key(name)
    return babyjub.public_key(key), babyjub.sign(key, tx.message(zk.rollup.domain))


def test_the_operator_cannot_prove_what_the_rules_refuse(zk, tmp_path, monkeypatch):
    """Even an operator that skips its own checks gets no witness: the circuit range-checks balances and
    checks every signature."""
    from l2.designs.zk import batch as batch_mod
    from l2.designs.zk.errors import CircuitError

    def unchecked(state, tx, domain):
        from dataclasses import replace

        sender = state.account(tx.from_)
        state = state.with_account(tx.from_, replace(sender, balance=sender.balance - tx.amount - tx.fee,
                                                     nonce=sender.nonce + 1))
        receiver = state.account(tx.to)
        return state.with_account(tx.to, replace(receiver, balance=receiver.balance + tx.amount))

    monkeypatch.setattr(batch_mod, "apply_transfer", unchecked)
    op = zk.make_operator(tmp_path)
    overspend = zk.transfer(op, "alice", "bob", 3 * ETH)
    batch = build(op.state, [], [overspend], fee_index=0, domain=zk.rollup.domain, shape=zk.rollup.shape)
    with pytest.raises(CircuitError, match="no witness exists"):
        zk.prover.prove(batch.inputs)
    good = zk.transfer(op, "alice", "bob", ETH)
    forged = Transfer(good.from_, good.to, float_encode(ETH // 2), 0, good.nonce, good.pub, good.sig)
    batch = build(op.state, [], [forged], fee_index=0, domain=zk.rollup.domain, shape=zk.rollup.shape)
    with pytest.raises(CircuitError, match="no witness exists"):
        zk.prover.prove(batch.inputs)


def test_a_skipped_or_reordered_deposit_is_refused(zk, tmp_path):
    alice, bob = zk.account("alice"), zk.account("bob")
    zk.rollup.deposit(alice, zk.index("alice"), ETH)
    zk.rollup.deposit(bob, zk.index("bob"), ETH // 2)
    (_, first), (_, second) = zk.rollup.queued()
    state = zk.state()
    for entries in ([second], [second, first]):
        batch = build(state, entries, [], fee_index=0, domain=zk.rollup.domain, shape=zk.rollup.shape)
        proof = zk.prover.prove(batch.inputs)
        with pytest.raises(TransactionReverted, match="InvalidProof"):
            _submit_raw(zk, batch.new_root, 0, len(entries), batch.tx_data(), proof)
    op = zk.make_operator(tmp_path)
    op.step(urgent=True)  # in order, both: accepted
    assert zk.rollup.queued() == [] and zk.state().account(zk.index("bob")).balance == 2 * ETH + ETH // 2


def test_a_withdrawal_is_claimed_once(zk, tmp_path):
    op = zk.make_operator(tmp_path)
    alice = zk.account("alice")
    op.submit(zk.transfer(op, "alice", None, ETH))
    op.step(urgent=True)
    assert zk.rollup.withdrawable(alice.address) == ETH
    zk.rollup.claim(alice)
    with pytest.raises(TransactionReverted, match="NothingToClaim"):
        zk.rollup.claim(alice)


def test_registration_checks_on_layer_1(zk):
    alice = zk.account("alice")
    with pytest.raises(TransactionReverted, match="BadKey"):
        zk.rollup.register(alice, 0, ETH)
    with pytest.raises(TransactionReverted, match="BelowMinimum"):
        zk.rollup.register(alice, 5, 10**9)
    with pytest.raises(TransactionReverted, match="BadAmount"):
        zk.chain.transact(zk.rollup.fn.deposit(zk.index("alice"), float_encode(ETH)), alice, value=ETH - 1)
    with pytest.raises(TransactionReverted, match="UnknownAccount"):
        zk.rollup.deposit(alice, 200, ETH)


def test_queue_entries_are_consumed_in_order_with_transfers_after_them(zk, tmp_path):
    from l2.designs.zk import babyjub
    from l2.designs.zk.state import pk_hash

    carol = zk.chain.accounts[6]
    index, _ = zk.rollup.register(carol, pk_hash(babyjub.public_key(b"carol")), ETH)
    op = zk.make_operator(tmp_path)
    op.step(urgent=True)
    op.submit(zk.transfer(op, "alice", None, ETH // 2))
    assert op.pending_count() == 1
    op.step(urgent=True)
    state = zk.state()
    assert state.account(index).balance == ETH and zk.rollup.queued() == [] and op.pending == []


def test_payments_on_top_of_queued_entries_are_accepted_and_proven_after_them(zk, tmp_path):
    """A registration or a deposit still in the Layer-1 queue counts at once: every batch applies its queue
    entries before its transfers, and a transfer that needs an entry beyond this batch's waits for the next."""
    from l2.designs.zk import babyjub
    from l2.designs.zk.state import pk_hash, transfer

    op = zk.make_operator(tmp_path)
    alice, bob, domain = zk.index("alice"), zk.index("bob"), zk.rollup.domain
    zk.rollup.deposit(zk.account("alice"), alice, ETH)  # alice has 2 ETH proven, 3 once this is in
    keys = {name: f"queued {name}".encode() for name in ("carol", "dave")}
    index = {name: zk.rollup.register(zk.chain.accounts[6 + i], pk_hash(babyjub.public_key(key)), ETH)[0]
             for i, (name, key) in enumerate(keys.items())}
    assert op.balance(alice) == 3 * ETH and op.balance(index["dave"]) == ETH
    op.submit(transfer(zk.key("alice"), domain, alice, index["carol"], ETH * 5 // 2, 0, op.nonce(alice)))
    op.submit(transfer(keys["dave"], domain, index["dave"], bob, ETH // 2, 0, op.nonce(index["dave"])))
    with pytest.raises(TxRejected, match="has"):
        op.submit(transfer(zk.key("alice"), domain, alice, bob, ETH, 0, op.nonce(alice)))  # 0.5 ETH left
    batches = zk.rollup.batch_count()
    op.step(urgent=True)  # alice's deposit and carol's registration, then alice's payment; dave's waits
    assert zk.rollup.batch_count() == batches + 1 and len(op.pending) == 1 and len(zk.rollup.queued()) == 1
    op.step(urgent=True)  # dave's registration, then his payment
    state = zk.state()
    assert zk.rollup.queued() == [] and op.pending == [] and state.root == op.state.root
    assert state.account(alice).balance == ETH // 2 and state.account(index["carol"]).balance == ETH * 7 // 2
    assert state.account(index["dave"]).balance == ETH // 2 and state.account(bob).balance == 2 * ETH + ETH // 2


def test_a_fee_waits_for_the_batch_that_registers_the_fee_account(zk, tmp_path):
    """Fees go to the operator's account: while its registration is queued behind a batch's entries, a paying
    transfer waits for the batch that registers it (no batch before could credit the fee)."""
    from l2.designs.zk import babyjub
    from l2.designs.zk.operator import Operator
    from l2.designs.zk.state import pk_hash

    zk.rollup.deposit(zk.account("alice"), zk.index("alice"), ETH)
    zk.rollup.deposit(zk.account("bob"), zk.index("bob"), ETH)
    fees, _ = zk.rollup.register(zk.chain.accounts[6], pk_hash(babyjub.public_key(b"fees")), zk.rollup.min_deposit)
    op = Operator(zk.rollup, zk.operator, zk.prover, tmp_path / "op.db", fee_index=fees)
    op.submit(zk.transfer(op, "alice", "bob", ETH // 2, fee=10**12))
    op.step(urgent=True)  # both deposits; the paying transfer waits
    assert len(op.pending) == 1 and len(zk.rollup.queued()) == 1
    op.step(urgent=True)  # the fee account's registration, then the transfer
    assert op.pending == [] and zk.state().account(fees).balance == zk.rollup.min_deposit + 10**12
