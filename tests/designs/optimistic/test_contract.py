"""The optimistic rollup's contracts on the embedded chain: keys registered with a proof of
possession, deposits through the queue, 8-byte transfers in commitments with one aggregate signature,
and both one-transaction fraud proofs, each attacked with forged input.

Commitments hold at most K = 4 transfers here: py-evm's pairings are pure Python (~0.5 s a pair)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from eth_utils import to_canonical_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from l2.core import bls, eip712
from l2.designs.optimistic import encoding, proofs
from l2.designs.optimistic.encoding import QueueCommitment, QueueEntry, Transfer, TransferCommitment, Withdrawal
from l2.designs.optimistic.errors import InsufficientBalance, InvalidTransaction
from l2.designs.optimistic.state import State, apply_transfers, key_hash, queue_outcomes, signature_valid
from l2.errors import TransactionReverted

DEPTH, K, WINDOW, INCLUSION = 6, 4, 100, 3600
ETHER = 10**18
BOND = ETHER


@dataclass
class Deployed:
    chain: object
    rollup: object
    proposer: object
    challenger: object
    users: list
    keys: list
    domain: bytes
    state: State = field(default=None)  # the tip, kept by `post`
    queue: list = field(default_factory=list)
    queue_head: int = 0
    by_hash: dict = field(default_factory=dict)

    def key_of(self, h: bytes) -> bytes:
        return self.by_hash[h]

    def sync_queue(self):
        for log in self.rollup.events.QueueEntryAdded().get_logs(from_block=0):
            a = log.args
            if a.index >= len(self.queue):
                self.queue.append(QueueEntry(a.index, a.kind, a.account, to_canonical_address(a.owner), a.keyHash,
                                             a.token, a.amount, a.timestamp))

    def post(self, commitments, sender=None) -> proofs.PostedBatch:
        """Submit commitments (post roots as given) and return the batch as Layer 1 records it."""
        starts, cursor = [], self.queue_head
        for c in commitments:
            starts.append(cursor)
            if isinstance(c, QueueCommitment):
                cursor += c.count
        expected_queue = self.rollup.functions.queueHashAt(cursor).call()
        tip = self.rollup.functions.tipRoot().call()
        receipt = self.chain.transact(
            self.rollup.functions.submitBatch(tip, expected_queue, encoding.encode_batch(commitments)),
            sender or self.proposer)
        event = self.rollup.events.BatchSubmitted().process_receipt(receipt, errors=DISCARD)[0].args
        header = (event.index, event.prevRoot, event.commitmentsRoot, event.commitmentCount, event.queueStart,
                  event.queueEnd, event.proposer, event.postedAt)
        self.queue_head = cursor
        return proofs.PostedBatch(header, tuple(commitments), tuple(starts))

    def queue_commitment(self, state: State, count: int | None = None) -> tuple[QueueCommitment, State]:
        entries = self.queue[self.queue_head:self.queue_head + (count or len(self.queue) - self.queue_head)]
        new, ok = queue_outcomes(state, entries)
        return QueueCommitment(new.root, len(entries), ok), new

    def transfers(self, state: State, txs: list[Transfer], fee_receiver: int = 1,
                  signers: list[int] | None = None, root: bytes | None = None) -> tuple[TransferCommitment, State]:
        """A commitment signed by each sender (or by `signers[i]`'s key), with its correct post root
        (or `root`)."""
        nonces: dict[int, int] = {}
        signatures = []
        for i, tx in enumerate(txs):
            account = state.account(tx.sender)
            nonce = (account.nonce if account else 0) + nonces.get(tx.sender, 0)
            nonces[tx.sender] = nonces.get(tx.sender, 0) + 1
            who = tx.sender if signers is None else signers[i]
            signatures.append(self.keys[who - 1].sign(tx.message(self.domain, nonce)))
        draft = TransferCommitment(b"\0" * 32, bls.aggregate(signatures), fee_receiver, tuple(txs))
        try:
            new, _ = apply_transfers(state, draft)
            post = new.root
        except InsufficientBalance:
            new, post = state, state.root
        return TransferCommitment(root or post, draft.signature, fee_receiver, tuple(txs)), new


@pytest.fixture(scope="session")
def deployed(chain):
    proposer, challenger = chain.accounts[0], chain.accounts[7]
    users = chain.accounts[1:4]
    signatures = chain.deploy("AggregateSignatures")
    rollup = chain.deploy("OptimisticRollup", proposer.address, WINDOW, INCLUSION, BOND, 10**15, DEPTH, K,
                          signatures.address)
    chain.transact(rollup.functions.depositBond(), proposer, value=BOND)
    domain = encoding.domain(chain.chain_id, rollup.address)
    keys = [bls.BlsKey.derive(bytes(u.key)) for u in users]
    env = Deployed(chain, rollup, proposer, challenger, users, keys, domain, State.genesis(DEPTH))
    for user, key in zip(users, keys, strict=True):
        public = bls.g2_evm(key.public)
        env.by_hash[key_hash(key.public)] = key.public
        message = registration_message(domain, user.address, key_hash(key.public))
        assert bytes(rollup.functions.registrationMessage(user.address, key_hash(key.public)).call()) == message
        chain.transact(rollup.functions.registerKey(public, key.prove_possession(message)), user)
    for user, amount in zip(users, (5, 3, 1), strict=True):
        chain.transact(rollup.functions.depositETH(user.address), user, value=amount * ETHER)
    env.sync_queue()
    return env


def registration_message(domain: bytes, owner: str, kh: bytes) -> bytes:
    return eip712.typed_data_digest(domain, encoding.KEY_REGISTRATION_TYPE.hash_struct({"owner": owner,
                                                                                        "keyHash": kh}))


@pytest.fixture
def funded(deployed):
    """The deposits applied in batch 0 (one queue commitment): accounts 1, 2, 3 hold 5, 3, 1 ETH."""
    commitment, state = deployed.queue_commitment(deployed.state)
    batch = deployed.post([commitment])
    deployed.state = state
    yield deployed, batch, state
    deployed.state = State.genesis(DEPTH)
    deployed.queue_head = 0


def dry_transition(deployed, proof):
    """The transition proof as a call: reverts TransitionCorrect, a forgery's error, or
    ChallengeNotCommitted (= it would slash: commitments are checked only once fraud is established)."""
    return deployed.chain.call(deployed.rollup.functions.challengeTransition(proof))


def dry_signature(deployed, proof):
    return deployed.chain.call(deployed.rollup.functions.challengeSignature(proof))


def _reveal_transition(deployed, proof):
    commitment = deployed.rollup.functions.transitionCommitmentOf(proof, deployed.challenger.address).call()
    deployed.chain.transact(deployed.rollup.functions.commitChallenge(commitment), deployed.challenger)
    return deployed.chain.transact(deployed.rollup.functions.challengeTransition(proof), deployed.challenger)


def _reveal_signature(deployed, proof):
    commitment = deployed.rollup.functions.signatureCommitmentOf(proof, deployed.challenger.address).call()
    deployed.chain.transact(deployed.rollup.functions.commitChallenge(commitment), deployed.challenger)
    return deployed.chain.transact(deployed.rollup.functions.challengeSignature(proof), deployed.challenger)


# --- keys --------------------------------------------------------------------------------------------

def test_a_key_without_possession_or_for_another_owner_is_refused(deployed):
    mallory = deployed.chain.accounts[5]
    rogue = bls.BlsKey.derive(b"mallory" * 4)
    kh = key_hash(rogue.public)
    public = bls.g2_evm(rogue.public)
    message = registration_message(deployed.domain, mallory.address, kh)
    for proof in (rogue.sign(message),  # a signature, not a possession proof
                  rogue.prove_possession(registration_message(deployed.domain, deployed.users[0].address, kh)),
                  deployed.keys[0].prove_possession(message)):  # someone else's key proves nothing of this one
        with pytest.raises(TransactionReverted, match="BadPossessionProof"):
            deployed.chain.transact(deployed.rollup.functions.registerKey(public, proof), mallory)
    with pytest.raises(TransactionReverted, match="BadPossessionProof"):
        deployed.chain.transact(deployed.rollup.functions.registerKey(b"\0" * 256, b"\xc0" + b"\0" * 47), mallory)


def test_a_deposit_to_an_address_without_a_key_is_refused(deployed):
    with pytest.raises(TransactionReverted, match="KeyNotRegistered"):
        deployed.chain.transact(deployed.rollup.functions.depositETH(deployed.chain.accounts[5].address),
                               deployed.users[0], value=ETHER)


# --- the honest path ---------------------------------------------------------------------------------

def test_layer_1_assigns_accounts_and_the_tip_is_the_python_root(funded):
    deployed, batch, state = funded
    assert [state.account(i).balance for i in (1, 2, 3)] == [5 * ETHER, 3 * ETHER, ETHER]
    assert bytes(deployed.rollup.functions.tipRoot().call()) == state.root
    assert deployed.rollup.functions.accountOf(deployed.users[1].address, 0).call() == 2


def test_honest_commitments_survive_both_fraud_proofs(funded):
    deployed, _, state = funded
    txs = [Transfer(1, 2, ETHER), Transfer(2, 3, 5 * 10**17, 10**15), Transfer(1, 3, 10**17), Withdrawal(3, ETHER)]
    commitment, post = deployed.transfers(state, txs)
    assert signature_valid(state, commitment, deployed.domain, deployed.key_of)
    batch = deployed.post([commitment])
    assert bytes(deployed.rollup.functions.tipRoot().call()) == post.root
    with pytest.raises(TransactionReverted, match="TransitionCorrect"):
        dry_transition(deployed, proofs.transition_proof(batch, 0, state))
    with pytest.raises(TransactionReverted, match="SignatureCorrect"):
        dry_signature(deployed, proofs.signature_proof(batch, 0, state, deployed.key_of))


def test_a_sender_twice_in_one_commitment_signs_two_nonces(funded):
    """Hubble's bug: the second transfer of a sender must be checked against nonce + 1."""
    deployed, _, state = funded
    commitment, _ = deployed.transfers(state, [Transfer(1, 2, ETHER), Transfer(1, 3, ETHER)])
    batch = deployed.post([commitment])
    with pytest.raises(TransactionReverted, match="SignatureCorrect"):
        dry_signature(deployed, proofs.signature_proof(batch, 0, state, deployed.key_of))


# --- fraud -------------------------------------------------------------------------------------------

def test_a_wrong_root_is_slashed_by_the_transition_proof(funded):
    deployed, _, state = funded
    commitment, _ = deployed.transfers(state, [Transfer(1, 2, ETHER)], root=b"\x11" * 32)
    batch = deployed.post([commitment])
    before = deployed.chain.w3.eth.get_balance(deployed.challenger.address)
    receipt = _reveal_transition(deployed, proofs.transition_proof(batch, 0, state))
    fraud = deployed.rollup.events.FraudProven().process_receipt(receipt, errors=DISCARD)[0].args
    assert (fraud.batchIndex, fraud.signature, fraud.reward) == (1, False, BOND // 2)
    assert deployed.rollup.functions.batchCount().call() == 1
    assert bytes(deployed.rollup.functions.tipRoot().call()) == state.root
    assert deployed.chain.w3.eth.get_balance(deployed.challenger.address) > before


def test_an_overspend_is_fraud_even_with_the_right_looking_root(funded):
    deployed, _, state = funded
    commitment, _ = deployed.transfers(state, [Transfer(3, 1, 2 * ETHER)])  # account 3 holds 1 ETH
    batch = deployed.post([commitment])
    _reveal_transition(deployed, proofs.transition_proof(batch, 0, state))
    assert deployed.rollup.functions.batchCount().call() == 1


def test_a_signature_by_the_wrong_key_is_slashed_by_the_signature_proof(funded):
    deployed, _, state = funded
    # Transfers from account 2 signed by account 1's key: the state transition itself is valid.
    commitment, _ = deployed.transfers(state, [Transfer(2, 1, ETHER), Transfer(1, 3, ETHER)], signers=[1, 1])
    batch = deployed.post([commitment])
    with pytest.raises(TransactionReverted, match="TransitionCorrect"):
        dry_transition(deployed, proofs.transition_proof(batch, 0, state))
    proof = proofs.signature_proof(batch, 0, state, deployed.key_of)
    receipt = _reveal_signature(deployed, proof)
    assert deployed.rollup.events.FraudProven().process_receipt(receipt, errors=DISCARD)[0].args.signature is True
    assert deployed.rollup.functions.batchCount().call() == 1


def test_a_signature_over_a_replayed_nonce_is_fraud(funded):
    """A transfer re-posted with the signature of its earlier twin (nonce 0 after nonce 0 was used)."""
    deployed, _, state = funded
    first, after = deployed.transfers(state, [Transfer(1, 2, ETHER)])
    deployed.post([first])
    replay = TransferCommitment(apply_transfers(after, first)[0].root, first.signature, 1, first.transfers)
    batch = deployed.post([replay])
    assert not signature_valid(after, replay, deployed.domain, deployed.key_of)
    _reveal_signature(deployed, proofs.signature_proof(batch, 0, after, deployed.key_of))
    assert deployed.rollup.functions.batchCount().call() == 2


def test_a_signature_that_is_no_point_is_fraud(funded):
    deployed, _, state = funded
    good, post = deployed.transfers(state, [Transfer(1, 2, ETHER)])
    bad = TransferCommitment(good.post_root, (0x80 << 376 | 1).to_bytes(48, "big"), 1, good.transfers)
    batch = deployed.post([bad])
    _reveal_signature(deployed, proofs.signature_proof(batch, 0, state, deployed.key_of))
    assert deployed.rollup.functions.batchCount().call() == 1


# --- forged proofs never slash an honest proposer ----------------------------------------------------

def test_forged_witnesses_and_keys_never_slash_an_honest_commitment(funded):
    deployed, _, state = funded
    commitment, _ = deployed.transfers(state, [Transfer(1, 2, ETHER), Transfer(2, 3, ETHER)])
    batch = deployed.post([commitment])
    honest = proofs.transition_proof(batch, 0, state)
    header, previous, target, entries, witnesses = honest
    forged_balance = list(witnesses)
    forged_balance[1] = (*witnesses[1][:3], witnesses[1][3] - 1, *witnesses[1][4:])  # sender "poorer"
    with pytest.raises(TransactionReverted, match="WitnessMismatch"):
        dry_transition(deployed, (header, previous, target, entries, forged_balance))
    with pytest.raises(TransactionReverted, match="WitnessMissing"):
        dry_transition(deployed, (header, previous, target, entries, witnesses[:2]))
    other = proofs.signature_proof(batch, 0, state, deployed.key_of)
    keys = bls.g2_evm(deployed.keys[2].public) + other[4][256:]  # a registered key, but not the sender's
    with pytest.raises(TransactionReverted, match="KeyMismatch"):
        dry_signature(deployed, (*other[:4], keys))
    senders = bytearray(other[3])
    senders[88] ^= 1  # the first sender's nonce, off by one: the message it "signed" would differ
    with pytest.raises(TransactionReverted, match="WitnessMismatch"):
        dry_signature(deployed, (*other[:3], bytes(senders), other[4]))
    with pytest.raises(TransactionReverted, match="SenderMissing"):
        dry_signature(deployed, (*other[:3], bytes(other[3][:-1]), other[4]))
    # A commitment with one transfer byte changed is not the one posted.
    altered = bytearray(target[1])
    altered[-1] ^= 1
    with pytest.raises(TransactionReverted, match="NotIncluded"):
        dry_transition(deployed, (header, previous, (target[0], bytes(altered), target[2], target[3]), entries,
                                 witnesses))


def test_a_signature_proof_starved_of_gas_reverts_instead_of_slashing(funded):
    deployed, _, state = funded
    commitment, _ = deployed.transfers(state, [Transfer(1, 2, ETHER)])
    batch = deployed.post([commitment])
    proof = proofs.signature_proof(batch, 0, state, deployed.key_of)
    commitment_hash = deployed.rollup.functions.signatureCommitmentOf(proof, deployed.challenger.address).call()
    deployed.chain.transact(deployed.rollup.functions.commitChallenge(commitment_hash), deployed.challenger)
    with pytest.raises(TransactionReverted):
        deployed.chain.transact(deployed.rollup.functions.challengeSignature(proof), deployed.challenger, gas=150_000)
    assert deployed.rollup.functions.batchCount().call() == 2


# --- withdrawals -------------------------------------------------------------------------------------

def test_a_withdrawal_is_paid_to_the_owner_once_final_and_only_once(funded, time_travel):
    deployed, _, state = funded
    commitment, _ = deployed.transfers(state, [Withdrawal(2, ETHER, 10**15)])
    batch = deployed.post([commitment])
    bob = deployed.users[1]
    claim = deployed.rollup.functions.claimWithdrawal(batch.header, batch.target(0), 0)
    with pytest.raises(TransactionReverted, match="BatchNotFinal"):
        deployed.chain.transact(claim, deployed.challenger)
    time_travel(WINDOW + 1)
    before = deployed.chain.w3.eth.get_balance(bob.address)
    deployed.chain.transact(claim, deployed.challenger)
    assert deployed.chain.w3.eth.get_balance(bob.address) == before + ETHER
    with pytest.raises(TransactionReverted, match="AlreadyClaimed"):
        deployed.chain.transact(claim, deployed.challenger)


# --- Python's rules and the contract's replay agree ---------------------------------------------------

AMOUNTS = [0, 10**17, ETHER, 3 * ETHER, 6 * ETHER]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_python_and_the_contract_agree_on_which_commitments_are_fraud(funded, data):
    """Random commitments, valid or not (accounts 0 and 4 do not exist, 70 is past the tree), with the
    right root or a wrong one: the contract slashes exactly those Python's rules refuse."""
    deployed, _, state = funded
    index = st.sampled_from([0, 1, 2, 3, 4, 70])
    txs = data.draw(st.lists(st.builds(Transfer, index, index, st.sampled_from(AMOUNTS), st.sampled_from([0, 10**15])),
                             min_size=1, max_size=K))
    fee_receiver = data.draw(index)
    wrong_root = data.draw(st.booleans())
    draft = TransferCommitment(b"\0" * 32, deployed.keys[0].sign(b"x"), fee_receiver, tuple(txs))
    try:
        post, _ = apply_transfers(state, draft)
        valid = True
    except InvalidTransaction:
        post, valid = state, False
    root = b"\x22" * 32 if wrong_root else post.root
    commitment = TransferCommitment(root, draft.signature, fee_receiver, tuple(txs))
    snapshot = deployed.chain.snapshot()
    try:
        batch = deployed.post([commitment])
        expected = "TransitionCorrect" if valid and not wrong_root else "ChallengeNotCommitted"
        with pytest.raises(TransactionReverted, match=expected):
            dry_transition(deployed, proofs.transition_proof(batch, 0, state))
    finally:
        deployed.chain.revert(snapshot)


def test_a_wrong_ok_bit_is_fraud_and_a_paid_forced_withdrawal_is_claimed(funded, time_travel):
    deployed, _, state = funded
    alice, bob = deployed.users[:2]
    deployed.chain.transact(deployed.rollup.functions.requestForcedWithdrawal(1, 2 * ETHER), alice)
    deployed.chain.transact(deployed.rollup.functions.requestForcedWithdrawal(2, 9 * ETHER), bob)  # more than bob has
    with pytest.raises(TransactionReverted, match="NotAccountOwner"):
        deployed.chain.transact(deployed.rollup.functions.requestForcedWithdrawal(1, ETHER), bob)
    deployed.sync_queue()
    entries = deployed.queue[deployed.queue_head:]
    honest, _ = deployed.queue_commitment(state)
    assert honest.ok == (True, False)
    lying = QueueCommitment(honest.post_root, 2, (True, True))  # claims bob's withdrawal was paid
    batch = deployed.post([lying])
    _reveal_transition(deployed, proofs.transition_proof(batch, 0, state, entries))
    assert deployed.rollup.functions.batchCount().call() == 1
    deployed.queue_head = 3  # the fraud put the queue head back to the start of the reverted batch
    deployed.chain.transact(deployed.rollup.functions.depositBond(), deployed.proposer, value=BOND)  # it was slashed
    batch = deployed.post([honest])
    with pytest.raises(TransactionReverted, match="TransitionCorrect"):
        dry_transition(deployed, proofs.transition_proof(batch, 0, state, entries))
    time_travel(WINDOW + 1)
    claim = deployed.rollup.functions.claimForcedWithdrawal(batch.header, batch.target(0), 0,
                                                           proofs.entry_tuple(entries[0]))
    before = deployed.chain.w3.eth.get_balance(alice.address)
    deployed.chain.transact(claim, deployed.challenger)
    assert deployed.chain.w3.eth.get_balance(alice.address) == before + 2 * ETHER
    with pytest.raises(TransactionReverted, match="NotAWithdrawal"):
        deployed.chain.transact(deployed.rollup.functions.claimForcedWithdrawal(
            batch.header, batch.target(0), 1, proofs.entry_tuple(entries[1])), deployed.challenger)
