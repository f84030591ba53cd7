"""Attacks on the rollup, each tried as an attacker would try it, with the exact outcome asserted:
the revert by its custom-error name, and that nobody gained or lost a wei they should not have.

(Forged fraud-proof witnesses against honest batches are in test_forged_witnesses.py.)
"""

from __future__ import annotations

import pytest

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import l1, proofs
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.errors import BatchDataUnavailable
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.state import State, apply, queue_op_for
from l2.designs.optimistic.txs import QueueOp, Transfer, sign
from l2.designs.optimistic.wallet import Wallet
from l2.errors import TransactionReverted

from .conftest import fund_for_faults

MIN_DEPOSIT = l1.DEV_MIN_DEPOSIT


def _paid(*receipts) -> int:
    return sum(r.gasUsed * r.effectiveGasPrice for r in receipts)


def _deposit_batch(rollup) -> tuple[bytes, bytes]:
    """(prev root, data) of an honest batch consuming the first queue entry on top of genesis."""
    state = State.genesis(rollup.tree_depth)
    op = queue_op_for(state, rollup.queue_entries()[0])
    after, _ = apply(state, op, rollup.domain)
    return state.root, batch_mod.encode(batch_mod.make_chunks([(op.encode(), after.root)], 0))


def _submit_calldata(rollup, prev_root: bytes, data: bytes) -> bytes:
    return bytes.fromhex(rollup.contract.encode_abi(
        "submitBatch", args=[prev_root, rollup.l1_queue_hash(data), 1, data])[2:])


# --- 2. every byte a verifier needs is in a transaction's input -----------------------------------

def test_a_contract_cannot_post_a_batch(env):
    """A proposer contract (allowed to post after the inclusion window, if bonded) would let the
    top-level input be a decoy; the rollup refuses any sender with code."""
    forwarder = env.chain.deploy("BatchForwarder", sender=env.admin)
    bond_call = bytes.fromhex(env.rollup.contract.encode_abi("depositBond")[2:])
    env.chain.transact(forwarder.functions.forward(env.rollup.address, bond_call), env.admin, value=l1.DEV_MIN_BOND)
    assert env.rollup.fn.bonds(forwarder.address).call() == l1.DEV_MIN_BOND
    env.rollup.deposit_eth(env.users[0], 10**17)
    env.chain.advance_time(env.rollup.inclusion_window + 1)  # any bonded proposer may post now
    prev, data = _deposit_batch(env.rollup)
    with pytest.raises(TransactionReverted, match="ProposerNotEOA") as info:
        env.chain.transact(forwarder.functions.forward(env.rollup.address, _submit_calldata(env.rollup, prev, data)),
                           env.admin)
    assert info.value.error_args[0].lower() == forwarder.address.lower()
    assert env.rollup.batch_count() == 0


def _send_with_delegation(chain, account, delegate: str, to: str, data: bytes):
    """An EIP-7702 (type 4) transaction from `account` that delegates its code to `delegate`."""
    nonce = chain.w3.eth.get_transaction_count(account.address)
    auth = account.sign_authorization({"chainId": chain.chain_id, "address": delegate, "nonce": nonce + 1})
    tx = {"type": 4, "chainId": chain.chain_id, "nonce": nonce, "to": to, "value": 0, "gas": 2_000_000,
          "data": data, "authorizationList": [auth], **chain.fees()}
    tx_hash = chain.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    return chain.w3.eth.wait_for_transaction_receipt(tx_hash)


@pytest.mark.parametrize("which", ["env", "anvil_env"])
def test_a_sequencer_delegated_with_eip7702_cannot_post(which, request):
    """The sequencer's own address, delegated to relaying code, could post at any time behind a
    decoy input: through its code (msg.sender == tx.origin, yet the input is the decoy) or directly.
    Both are refused while the delegation stands."""
    env = request.getfixturevalue(which)
    chain = env.chain
    snapshot = chain.snapshot()
    try:
        forwarder = chain.deploy("BatchForwarder", sender=env.admin)
        env.rollup.deposit_eth(env.users[0], 10**17)
        prev, data = _deposit_batch(env.rollup)
        relay = bytes.fromhex(forwarder.encode_abi("forward", args=[env.rollup.address,
                                                                    _submit_calldata(env.rollup, prev, data)])[2:])
        receipt = _send_with_delegation(chain, env.proposer, forwarder.address, env.proposer.address, relay)
        assert receipt.status == 0  # the relayed submitBatch reverted
        delegation = b"\xef\x01\x00" + bytes.fromhex(forwarder.address[2:])
        assert bytes(chain.w3.eth.get_code(env.proposer.address)) == delegation
        as_relay = chain.w3.eth.contract(address=env.proposer.address, abi=forwarder.abi)
        with pytest.raises(TransactionReverted, match="ProposerNotEOA"):
            chain.transact(as_relay.functions.forward(env.rollup.address, _submit_calldata(env.rollup, prev, data)),
                           env.proposer)
        with pytest.raises(TransactionReverted, match="ProposerNotEOA"):  # and not directly either
            env.rollup.submit_batch(env.proposer, prev, 1, data, env.rollup.l1_queue_hash(data))
        assert env.rollup.batch_count() == 0
    finally:
        chain.revert(snapshot)


def test_a_verifier_that_cannot_rebuild_a_batch_says_so_every_time(env, tmp_path, monkeypatch):
    """A node that serves a batch's transaction with another input (pruned, forged, or a contract
    the rules did not stop) leaves the verifier unable to check it: it raises BatchDataUnavailable on
    every sync, and never counts the batch as verified."""
    seq = env.sequencer(tmp_path)
    fund_for_faults(env, seq)
    seq.post_batch()
    real = env.chain.w3.eth.get_transaction

    def decoy(tx_hash):
        tx = dict(real(tx_hash))
        tx["input"] = bytes.fromhex(env.rollup.contract.encode_abi(
            "submitBatch", args=[b"\0" * 32, b"\0" * 32, 1, QueueOp(0, 1).encode() + b"\x11" * 32])[2:])
        return tx

    monkeypatch.setattr(env.chain.w3.eth, "get_transaction", decoy)
    verifier = env.verifier()
    for _ in range(2):
        with pytest.raises(BatchDataUnavailable, match="not the batch its event commits to"):
            verifier.sync()
        assert verifier.verified == [] and "batch #0" in verifier.unavailable
    monkeypatch.setattr(env.chain.w3.eth, "get_transaction", lambda h: {**real(h), "to": env.users[0].address})
    with pytest.raises(BatchDataUnavailable, match="not to the rollup directly"):
        verifier.sync()
    monkeypatch.undo()
    assert verifier.sync() == [] and verifier.unavailable is None and len(verifier.verified) == 1


# --- 3. a batch is bound to the queue entries it consumed; reorgs are re-verified ------------------

def _fields_of(chain, tx_hash) -> dict:
    """The signed fields of a mined (type 2) transaction, to broadcast it again after a reorg."""
    tx = chain.w3.eth.get_transaction(tx_hash)
    return {"type": 2, "chainId": chain.chain_id, "nonce": tx["nonce"], "to": tx["to"], "value": tx["value"],
            "gas": tx["gas"], "data": bytes(tx["input"]), "maxFeePerGas": tx["maxFeePerGas"],
            "maxPriorityFeePerGas": tx["maxPriorityFeePerGas"]}


def _broadcast_again(chain, account, fields: dict, tx_hash):
    """The same signed bytes again (RFC 6979 signatures are deterministic: same fields, same transaction)."""
    signed = account.sign_transaction(fields)
    assert bytes(signed.hash) == bytes(tx_hash)
    return chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed.raw_transaction))


@pytest.mark.parametrize("which", ["env", "anvil_env"])
def test_a_reorg_that_changes_a_consumed_deposit_cannot_get_the_honest_sequencer_slashed(which, request, tmp_path):
    """Before: the batch committed only to its queue range; a reorg re-included it over a 0.001 ETH
    deposit instead of the 1 ETH it credited, the running verifier kept the 1 ETH, and a verifier
    started later slashed the honest sequencer. Now the re-included batch fails (QueueHashMismatch),
    every verifier follows the new branch, and the sequencer re-posts on it."""
    env = request.getfixturevalue(which)
    chain = env.chain
    snapshot = chain.snapshot()
    try:
        alice = env.users[0]
        seq = env.sequencer(tmp_path)
        running = env.verifier()
        fork = chain.snapshot()  # the chain will fork here
        env.rollup.deposit_eth(alice, 10**18)
        seq.sync_queue()
        receipt = seq.post_batch()
        assert running.sync() == [] and running.state.account(0).balances[0] == 10**18
        bond = env.rollup.fn.bonds(env.proposer.address).call()
        fields = _fields_of(chain, receipt.transactionHash)

        chain.revert(fork)  # the reorg: the other branch has a 0.001 ETH deposit at the same queue index
        env.rollup.deposit_eth(alice, 10**15)
        again = _broadcast_again(chain, env.proposer, fields, receipt.transactionHash)
        assert again.status == 0  # the very same batch transaction, re-included, fails
        with pytest.raises(TransactionReverted, match="QueueHashMismatch"):
            chain.call(env.rollup.fn.submitBatch(*env.rollup.contract.decode_function_input(fields["data"])[1].values()),
                       env.proposer)
        assert env.rollup.batch_count() == 0

        assert running.sync() == [] and running.verified == []  # the 1 ETH credit is gone with its branch
        assert running.state.root == running.genesis.root
        assert env.verifier().sync() == []  # nothing for a late verifier to challenge

        seq.post_batch()  # the sequencer re-reads the queue from Layer 1 and posts on the new branch
        fresh = env.verifier()
        assert fresh.sync() == [] and fresh.state.account(0).balances[0] == 10**15
        assert running.sync() == [] and running.state.root == fresh.state.root == env.rollup.tip_root()
        assert env.rollup.fn.bonds(env.proposer.address).call() == bond
        seq.close()
    finally:
        chain.revert(snapshot)


def test_after_a_reorg_the_verifier_rechecks_every_batch_from_the_first_changed_block(env, tmp_path):
    seq = env.sequencer(tmp_path)
    alice, bob = fund_for_faults(env, seq)
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    first = verifier.verified[0]
    fork = env.chain.snapshot()
    alice.transfer(bob.address, 10**17)
    seq.post_batch()
    assert verifier.sync() == [] and len(verifier.verified) == 2
    env.chain.revert(fork)
    seq.close()
    # on the new branch the same batch lands one block later: same transaction, another block
    env.chain.mine()
    replacement = env.sequencer(tmp_path)
    replacement.post_batch()  # re-sends (recovery) or resyncs: either way batch #1 is on the new branch
    assert verifier.sync() == []
    assert verifier.verified[0] is first  # its block did not change: not re-executed
    assert len(verifier.verified) == 2 and verifier.verified[1].posted.block_hash == bytes(
        env.chain.w3.eth.get_block(verifier.verified[1].posted.block_number)["hash"])
    replacement.close()


# --- 4. a queue backlog drains; dust costs what it costs ----------------------------------------

def test_dust_deposits_are_refused(env):
    with pytest.raises(TransactionReverted, match="DepositTooSmall") as info:
        env.rollup.deposit_eth(env.users[0], MIN_DEPOSIT - 1)
    assert info.value.error_args == (MIN_DEPOSIT - 1, MIN_DEPOSIT)
    fee_token = env.chain.deploy("FeeOnTransferToken", "Fee Token", "FEE", 0, sender=env.admin)
    env.rollup.register_token(env.admin, fee_token.address, 10**18)
    env.chain.transact(fee_token.functions.mint(env.users[0].address, 10**20), env.admin)
    with pytest.raises(TransactionReverted, match="DepositTooSmall"):
        env.rollup.deposit_token(env.users[0], 3, 10**18 - 1)
    assert env.rollup.counters()[2] == 0 and fee_token.functions.balanceOf(env.rollup.address).call() == 0


def test_a_queue_backlog_larger_than_any_batch_drains_and_never_freezes_the_rollup(env, tmp_path):
    """80 dust-sized deposits while no batch is posted for an inclusion window: more overdue entries
    than `max_batch` (4) and more than one batch may be asked for. The contract asks each batch for
    QUEUE_PROGRESS (64) of them at most; the sequencer puts them in whatever max_batch says."""
    progress = env.rollup.queue_progress
    spammer = env.users[3]
    for _ in range(progress + 16):
        env.rollup.deposit_eth(spammer, MIN_DEPOSIT)
    env.chain.advance_time(env.rollup.inclusion_window + 1)
    seq = env.sequencer(tmp_path, max_batch=4)
    seq.sync_queue()
    # a batch that leaves overdue entries behind with less than QUEUE_PROGRESS consumed is refused...
    state, pairs = seq.genesis, []
    for entry in env.rollup.queue_entries()[: progress - 1]:
        op = queue_op_for(state, entry)
        state, _ = apply(state, op, env.rollup.domain)
        pairs.append((op.encode(), state.root))
    short = batch_mod.encode(batch_mod.make_chunks(pairs, 0))
    with pytest.raises(TransactionReverted, match="QueueEntryOverdue") as info:
        env.rollup.submit_batch(env.proposer, seq.genesis.root, len(pairs), short, env.rollup.l1_queue_hash(short))
    assert info.value.error_args[0] == progress - 1
    # ... and the sequencer's batches drain the backlog: 64, then the 16 left (fewer than 64, all overdue)
    first = seq.tick()
    header = env.chain.events(first, env.rollup.contract, "BatchSubmitted")[0]
    assert (header.queueStart, header.queueEnd) == (0, progress)
    assert first.gasUsed < 1_000_000
    second = seq.tick(now=10**12)  # old enough to post at once
    header = env.chain.events(second, env.rollup.contract, "BatchSubmitted")[0]
    assert (header.queueStart, header.queueEnd) == (progress, progress + 16)
    verifier = env.verifier()
    assert verifier.sync() == []
    assert verifier.state.account(0).balances[0] == (progress + 16) * MIN_DEPOSIT
    assert env.rollup.counters()[1] == env.rollup.counters()[2] == progress + 16
    seq.close()


# --- 5. a full account tree: deposits are refunded, nothing searches forever -------------------------

@pytest.fixture
def small(env):
    """A rollup whose account tree holds 4 accounts (depth 2), bonded for env.proposer."""
    rollup = l1.deploy(env.chain, env.proposer.address, sender=env.admin, tree_depth=2)
    rollup.deposit_bond(env.proposer, l1.DEV_MIN_BOND)
    return rollup


def test_a_deposit_into_a_full_tree_is_refunded_and_claimed_once(env, small, tmp_path):
    seq = Sequencer(small, env.proposer, tmp_path / "small.db")
    owners = [env.admin, *env.users]  # 5 addresses for 4 accounts
    for owner in owners[:4]:
        small.deposit_eth(owner, 10**17)
    late = owners[4]
    small.deposit_eth(late, 3 * 10**17)  # no room: refunded
    small.deposit_eth(owners[0], 10**17)  # the tree is full, but this address has an account
    seq.sync_queue()
    assert seq.state.is_full and queue_op_for(seq.state, small.queue_entries()[4]) == QueueOp(0, 0,
                                                                                              small.queue_entries()[4])
    seq.post_batch()
    verifier = Challenger(small, env.challenger)
    assert verifier.sync() == []
    assert verifier.state.account(0).balances[0] == 2 * 10**17 and verifier.state.index_of(late.address) is None
    (refund,) = verifier.claimables(late.address)
    assert (refund.amount, refund.entry.kind) == (3 * 10**17, 0)
    env.chain.advance_time(small.challenge_window + 1)
    before = env.chain.balance(late.address)
    paid = verifier.claim(env.challenger, refund)  # anyone may send it; the depositor is paid
    assert env.chain.balance(late.address) == before + 3 * 10**17
    assert env.chain.events(paid, small.contract, "WithdrawalClaimed")[0].recipient == late.address
    with pytest.raises(TransactionReverted, match="AlreadyClaimed"):
        verifier.claim(env.challenger, refund)
    # a deposit credited to an account is no refund
    credited = verifier.verified[0]
    position = next(i for i, c in enumerate(credited.chunks) if c.body[0] == 3)
    with pytest.raises(TransactionReverted, match="NotAWithdrawal"):
        small.claim_deposit_refund(env.challenger, credited.posted.header, batch_mod.inclusion(credited.chunks,
                                                                                               position),
                                   small.queue_entries()[0])
    assert env.chain.balance(small.address) == verifier.state.total(0) + l1.DEV_MIN_BOND
    seq.close()


@pytest.mark.parametrize("bad_op, reason", [
    (QueueOp(0, 0), "refunded while the account tree has room"),
    (QueueOp(2, 1), "the next free one is 0"),
])
def test_a_refund_with_room_left_or_a_skipped_index_is_proven_and_slashed(env, small, bad_op, reason):
    small.deposit_eth(env.users[0], 10**17)
    state = State.genesis(2)
    entry = small.queue_entries()[0]
    root = state.root if bad_op.ok == 0 else apply(state, queue_op_for(state, entry), small.domain)[0].root
    data = batch_mod.encode(batch_mod.make_chunks([(bad_op.encode(), root)], 0))
    small.submit_batch(env.proposer, state.root, 1, data, small.l1_queue_hash(data))
    (fraud,) = Challenger(small, env.challenger).sync()
    assert reason in fraud.reason and fraud.receipt is not None
    assert small.batch_count() == 0 and small.fn.bonds(env.proposer.address).call() == 0


# --- 6. a copied fraud proof earns the copier nothing ------------------------------------------------

def _raw(chain, account, fn_call, gas=3_000_000, nonce_offset=0) -> bytes:
    tx = fn_call.build_transaction({"from": account.address, "gas": gas, "chainId": chain.chain_id,
                                    "nonce": chain.w3.eth.get_transaction_count(account.address) + nonce_offset,
                                    **chain.fees()})
    return account.sign_transaction(tx).raw_transaction


def _proof_of_the_fraud(env) -> tuple:
    """The fraud proof an honest challenger would reveal for the first fraud in the standing batches."""
    rollup = env.rollup
    (fraud,) = env.verifier(auto_challenge=False).sync()
    spectator = env.verifier(auto_challenge=False)
    spectator.sync()
    posted = rollup.posted_batch(spectator.standing_batches()[fraud.batch_index])
    chunks = batch_mod.split(posted.data, posted.header.queue_start)
    pre = spectator.state
    for chunk in chunks[: fraud.position]:
        pre, _ = apply(pre, proofs.decode_chunk(chunk, spectator.entries, posted.header.proposer), rollup.domain)
    tx = proofs.decode_chunk(chunks[fraud.position], spectator.entries, posted.header.proposer)
    return proofs.fraud_proof(posted.header, chunks, fraud.position, pre, tx, rollup.domain)


def test_a_fraud_proof_copied_from_the_mempool_earns_the_copier_nothing(env, tmp_path):
    """The cheater's second address watches the mempool: it sends the honest challenger's revealed
    proof first in the same block, then commits to it and tries to reveal later. It gets nothing; the
    challenger gets half the bond; the cheater keeps none of it."""
    chain, rollup = env.chain, env.rollup
    seq = env.sequencer(tmp_path, fault="wrong_root")
    fund_for_faults(env, seq)
    seq.post_batch()
    proof = _proof_of_the_fraud(env)
    copier, challenger = env.users[3], env.challenger
    bond = rollup.fn.bonds(env.proposer.address).call()
    copier_before, challenger_before = chain.balance(copier.address), chain.balance(challenger.address)

    commit = rollup.commit_challenge(challenger, proof)
    chain.tester.disable_auto_mine_transactions()
    try:  # one block: the copier's copy (first), the honest reveal
        copy_hash = chain.w3.eth.send_raw_transaction(_raw(chain, copier, rollup.fn.challengeTransition(proof)))
        reveal_hash = chain.w3.eth.send_raw_transaction(_raw(chain, challenger, rollup.fn.challengeTransition(proof)))
        chain.mine()
    finally:
        chain.tester.enable_auto_mine_transactions()
    copied = chain.w3.eth.get_transaction_receipt(copy_hash)
    reveal = chain.w3.eth.get_transaction_receipt(reveal_hash)
    assert copied.blockNumber == reveal.blockNumber and copied.status == 0 and reveal.status == 1
    late = rollup.commit_challenge(copier, proof)  # committing after seeing it is too late: the batch is gone
    with pytest.raises(TransactionReverted, match="UnknownBatch"):
        rollup.reveal_challenge(copier, proof)

    (proven,) = chain.events(reveal, rollup.contract, "FraudProven")
    assert (proven.challenger, proven.reward) == (challenger.address, bond // 2)
    assert chain.balance(challenger.address) == challenger_before + bond // 2 - _paid(commit, reveal)
    assert chain.balance(copier.address) == copier_before - _paid(copied, late)
    assert rollup.fn.bonds(env.proposer.address).call() == 0 and rollup.fn.totalBurned().call() == bond - bond // 2
    seq.close()


def test_a_copy_without_its_own_commitment_and_a_reveal_in_the_commitments_block_are_refused(env, tmp_path):
    chain, rollup = env.chain, env.rollup
    seq = env.sequencer(tmp_path, fault="wrong_root")
    fund_for_faults(env, seq)
    seq.post_batch()
    proof = _proof_of_the_fraud(env)
    assert bytes(rollup.fn.commitmentOf(proof, env.challenger.address).call()) == proofs.commitment(
        proof, env.challenger.address)
    with pytest.raises(TransactionReverted, match="ChallengeNotCommitted"):
        rollup.reveal_challenge(env.users[3], proof)
    rollup.commit_challenge(env.challenger, proof)
    with pytest.raises(TransactionReverted, match="ChallengeRevealTooEarly"):
        chain.call(rollup.fn.challengeTransition(proof), env.challenger)  # an eth_call runs in the latest block
    _, reveal = rollup.challenge(env.challenger, proof)  # one block later it goes through
    assert reveal.status == 1 and rollup.batch_count() == 0
    seq.close()


def test_a_commitment_and_its_reveal_mined_in_one_block_slash_nobody(anvil_env, anvil_chain, tmp_path):
    """On anvil, with automining off: the commitment and the reveal land in the same block; the reveal fails."""
    env, chain, rollup = anvil_env, anvil_chain, anvil_env.rollup
    seq = env.sequencer(tmp_path, fault="wrong_root")
    fund_for_faults(env, seq)
    seq.post_batch()
    proof = _proof_of_the_fraud(env)
    bond = rollup.fn.bonds(env.proposer.address).call()
    chain._rpc("evm_setAutomine", [False])
    try:
        commit_hash = chain.w3.eth.send_raw_transaction(_raw(chain, env.challenger, rollup.fn.commitChallenge(
            proofs.commitment(proof, env.challenger.address))))
        reveal_hash = chain.w3.eth.send_raw_transaction(
            _raw(chain, env.challenger, rollup.fn.challengeTransition(proof), nonce_offset=1))
        chain.mine()
    finally:
        chain._rpc("evm_setAutomine", [True])
    commit = chain.w3.eth.get_transaction_receipt(commit_hash)
    reveal = chain.w3.eth.get_transaction_receipt(reveal_hash)
    assert commit.blockNumber == reveal.blockNumber and (commit.status, reveal.status) == (1, 0)
    assert rollup.batch_count() == 1 and rollup.fn.bonds(env.proposer.address).call() == bond
    seq.close()


# --- 7. a bond stays locked for a challenge window after the proposer's last batch ---------------------

def test_a_proposer_cannot_escape_its_slash_through_a_sock_puppets_reverted_batch(env, tmp_path):
    """The cheater posts a fraudulent batch B0; its puppet posts B1 once the sequencer has been quiet
    for the inclusion window; the cheater posts B2 on top; an accomplice proves B1, which reverts B1
    and B2. The cheater's latest batch is gone, but its bond stays locked, and B0 is slashed."""
    chain = env.chain
    rollup = l1.deploy(chain, env.proposer.address, challenge_window=3_000, inclusion_window=600, sender=env.admin)
    cheater, puppet, accomplice = env.proposer, env.users[3], env.users[2]
    rollup.deposit_bond(cheater, l1.DEV_MIN_BOND)
    rollup.deposit_bond(puppet, l1.DEV_MIN_BOND)
    seq = Sequencer(rollup, cheater, tmp_path / "cheat.db", fault="wrong_withdrawal")
    alice, bob = (Wallet(u, rollup, seq) for u in env.users[:2])
    alice.deposit(10**18)
    bob.deposit(10**18)
    rollup.deposit_eth(cheater, 10**18)
    seq.sync_queue()
    seq.post_batch()  # B0: a withdrawal of the cheater's whole balance, never debited
    honest_state = seq.state  # B0 ends on the root of this state (the withdrawal left it unchanged)
    assert rollup.tip_root() == honest_state.root

    chain.advance_time(rollup.inclusion_window + 1)
    tx = sign(Transfer(0, 1, 0, 10**15), env.users[0].key, rollup.domain, honest_state.account(0).nonce)
    b1 = batch_mod.make_chunks([(tx.encode(), b"\x13" * 32)], rollup.counters()[1])  # a wrong root
    rollup.submit_batch(puppet, honest_state.root, 1, data := batch_mod.encode(b1), rollup.l1_queue_hash(data))
    b2 = batch_mod.make_chunks([(tx.encode(), b"\x14" * 32)], rollup.counters()[1])
    rollup.submit_batch(cheater, b"\x13" * 32, 1, data := batch_mod.encode(b2), rollup.l1_queue_hash(data))
    assert rollup.batch_count() == 3
    header = rollup.posted_batch(rollup.events("BatchSubmitted")[1]).header
    rollup.challenge(accomplice, proofs.fraud_proof(header, b1, 0, honest_state, tx, rollup.domain))
    assert rollup.batch_count() == 1  # B1 and B2 reverted; B0 still pending

    bond = rollup.fn.bonds(cheater.address).call()
    with pytest.raises(TransactionReverted, match="BondLocked"):
        rollup.withdraw_bond(cheater)
    challenger_before = chain.balance(env.challenger.address)
    (fraud,) = Challenger(rollup, env.challenger).sync()
    assert fraud.batch_index == 0 and fraud.receipt is not None
    assert chain.balance(env.challenger.address) == challenger_before + bond // 2 - _paid(fraud.commit_receipt,
                                                                                          fraud.receipt)
    assert rollup.fn.bonds(cheater.address).call() == 0
    chain.advance_time(rollup.challenge_window + 1)
    with pytest.raises(TransactionReverted, match="NothingToWithdraw"):
        rollup.withdraw_bond(cheater)
    seq.close()


# --- 10. a fee-on-transfer token is credited what arrived --------------------------------------------

@pytest.mark.parametrize("fee_bps", [0, 1, 100, 5_000])
def test_a_fee_on_transfer_token_is_credited_what_arrived_and_the_bridge_stays_solvent(env, tmp_path, fee_bps):
    chain, rollup = env.chain, env.rollup
    token = chain.deploy("FeeOnTransferToken", "Fee Token", "FEE", fee_bps, sender=env.admin)
    rollup.register_token(env.admin, token.address, 1)
    token_id = rollup.fn.tokenCount().call() - 1
    seq = env.sequencer(tmp_path)
    alice, bob = env.wallets(seq)[:2]
    for wallet in (alice, bob):
        chain.transact(token.functions.mint(wallet.address, 10**21), env.admin)
        wallet.deposit(10**20, token_id)
    arrived = 10**20 - 10**20 * fee_bps // 10_000
    assert [e.amount for e in rollup.queue_entries()] == [arrived, arrived]
    assert token.functions.balanceOf(rollup.address).call() == 2 * arrived
    seq.sync_queue()
    alice.transfer(bob.address, 10**18, token_id)
    for wallet in (alice, bob):
        wallet.withdraw(wallet.balance(token_id), token_id)
    seq.post_batch()
    verifier = env.verifier()
    assert verifier.sync() == []
    assert verifier.state.total(token_id) == 0
    env.finalize()
    for claim in verifier.claimables():
        verifier.claim(env.challenger, claim)
    assert token.functions.balanceOf(rollup.address).call() == 0  # everyone paid, nothing owed, nothing left
    seq.close()
