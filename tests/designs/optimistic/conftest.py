"""Rollup fixtures: one deployment per session (the rollup and a test token, users with registered BLS keys).

The per-test snapshot/revert of tests/conftest.py puts everything back after each test; sequencer
databases live in each test's tmp_path.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

MINT = 10**24


# --- the optimistic rollup (BLS aggregate signatures) ------------------------------------------------

@dataclass
class RollupEnv:
    """An optimistic rollup (depth 6, k = 4: py-evm's pairings are pure Python) whose proposer and users have
    registered BLS keys; the proposer's own account (the first deposit: account 1) takes the fees."""

    chain: object
    client: object
    admin: object
    proposer: object
    users: list
    challenger: object
    token: object

    def sequencer(self, tmp_path, name="sequencer.db", **kwargs):
        from l2.designs.optimistic.sequencer import Sequencer

        return Sequencer(self.client, self.proposer, kwargs.pop("fee_receiver", 1), tmp_path / name, **kwargs)

    def checker(self):
        from l2.designs.optimistic.challenger import Challenger

        return Challenger(self.client, self.challenger)

    def wallets(self, sequencer) -> list:
        from l2.designs.optimistic.wallet import Wallet

        return [Wallet(u, self.client, sequencer) for u in self.users]

    def finalize(self):
        self.chain.advance_time(self.client.challenge_window + 1)


def deploy_rollup(chain) -> RollupEnv:
    from l2.core import bls
    from l2.designs.optimistic import l1 as rollup_l1

    admin, proposer, challenger = chain.accounts[0], chain.accounts[8], chain.accounts[9]
    users = chain.accounts[4:7]
    client = rollup_l1.deploy(chain, proposer.address, depth=6, k=4, sender=admin)
    token = chain.deploy("TestToken", "Rollup Test Token", "RTT", sender=admin)
    client.register_token(admin, token.address, 10**6)
    client.deposit_bond(proposer, rollup_l1.DEV_MIN_BOND)
    client.register_key(proposer, bls.BlsKey.derive(bytes(proposer.key)))
    client.deposit_eth(proposer, 10**16)
    for user in users:  # their wallets' keys (derived from the Ethereum keys), once per session
        chain.transact(token.functions.mint(user.address, MINT), admin)
        client.register_key(user, bls.BlsKey.derive(bytes(user.key)))
    return RollupEnv(chain, client, admin, proposer, users, challenger, token)


@pytest.fixture(scope="session")
def rollup_env(chain) -> RollupEnv:
    return deploy_rollup(chain)


@pytest.fixture(scope="session")
def rollup_anvil_env(anvil_chain) -> RollupEnv:
    return deploy_rollup(anvil_chain)


# --- batches made by hand: the hardening's attacks (test_<topic>.py) ---------------

class Forger:
    """Builds and posts batches over a RollupEnv's rollup, honest or forged, as an attacker (or a
    backup proposer) would: states are computed with the rules in Python, transfers signed with the users'
    BLS keys for their nonces, and every batch goes through `submitBatch` like any other."""

    def __init__(self, env, client=None):
        from l2.core import bls
        from l2.designs.optimistic.state import key_hash

        self.env, self.chain = env, env.chain
        self.client = client or env.client
        self.keys = {a.address: bls.BlsKey.derive(bytes(a.key)) for a in (env.proposer, *env.users)}
        self.by_hash = {key_hash(k.public): k.public for k in self.keys.values()}

    @property
    def genesis(self):
        from l2.designs.optimistic.state import State

        return State.genesis(self.client.depth)

    def tip(self):
        """The state after every standing batch, replayed from Layer 1 (they must all be honest)."""
        from l2.designs.optimistic.challenger import Challenger, check_batch

        checker = Challenger(self.client, self.env.challenger)
        state, queue, keys = checker.genesis, self.client.queue_entries(), self.client.keys()
        for batch in checker.standing():
            state, fraud = check_batch(batch, state, queue, self.client.domain, keys.__getitem__)
            assert fraud is None, fraud.reason
        return state

    def entries(self, count: int | None = None, start: int | None = None):
        """`count` queue entries (all that wait, if None) from `start` (Layer 1's queue head, if None)."""
        start = self.client.queue_head() if start is None else start
        queue = self.client.queue_entries(start)
        return queue if count is None else queue[:count]

    def queue(self, state, count: int | None = None, start: int | None = None, ok=None, root=None):
        """A queue commitment consuming `count` entries (all that wait) with its outcomes (or `ok`) and its
        root (or `root`), and the state it leads to."""
        from l2.designs.optimistic.encoding import QueueCommitment
        from l2.designs.optimistic.state import queue_outcomes

        entries = self.entries(count, start)
        after, outcomes = queue_outcomes(state, entries)
        return QueueCommitment(root or after.root, len(entries), tuple(ok or outcomes)), after

    def transfers(self, state, txs, fee_receiver: int = 1, signers=None, root=None, nonces=None):
        """A transfer commitment of `txs`, each signed by its sender's owner (or by `signers[i]`, an
        address) for its nonce (or `nonces[i]`), with its replayed root (or `root`), and the state it leads
        to (the pre-state if the transfers do not apply)."""
        from l2.core import bls
        from l2.designs.optimistic.encoding import TransferCommitment
        from l2.designs.optimistic.errors import InvalidTransaction
        from l2.designs.optimistic.state import apply_transfers

        seen: dict[int, int] = {}
        signatures = []
        for i, tx in enumerate(txs):
            account = state.account(tx.sender)
            nonce = (account.nonce if account else 0) + seen.get(tx.sender, 0)
            seen[tx.sender] = seen.get(tx.sender, 0) + 1
            signer = signers[i] if signers else self._owner(account)
            key = self.keys[signer if isinstance(signer, str) else signer.address]
            signatures.append(key.sign(tx.message(self.client.domain, nonce if nonces is None else nonces[i])))
        draft = TransferCommitment(b"\0" * 32, bls.aggregate(signatures), fee_receiver, tuple(txs))
        try:
            after, _ = apply_transfers(state, draft)
        except InvalidTransaction:
            after = state
        return TransferCommitment(root or after.root, draft.signature, fee_receiver, tuple(txs)), after

    def _owner(self, account) -> str:
        from eth_utils import to_checksum_address

        owner = to_checksum_address(account.owner) if account is not None else self.env.proposer.address
        return owner if owner in self.keys else self.env.proposer.address

    def post(self, commitments, proposer=None, prev_root=None):
        """Post `commitments` (on `prev_root`, Layer 1's tip if None) and return the batch as Layer 1 holds it."""
        from l2.designs.optimistic.proofs import PostedBatch

        start = self.client.queue_head()
        receipt = self.client.submit_batch(proposer or self.env.proposer, list(commitments), start, prev_root)
        (event,) = self.chain.events(receipt, self.client.contract, "BatchSubmitted")
        header = (event.index, bytes(event.prevRoot), bytes(event.commitmentsRoot), event.commitmentCount,
                  event.queueStart, event.queueEnd, event.proposer, event.postedAt)
        starts, cursor = [], start
        for c in commitments:
            starts.append(cursor)
            cursor += getattr(c, "count", 0)
        return PostedBatch(header, tuple(commitments), tuple(starts), bytes(receipt.blockHash),
                           bytes(receipt.transactionHash))

    def transition_proof(self, batch, position, pre):
        """The transition proof of commitment `position` of `batch` from its pre-state `pre`."""
        from l2.designs.optimistic import proofs

        commitment, start = batch.commitments[position], batch.queue_starts[position]
        entries = self.client.queue_entries()[start:start + commitment.count] if hasattr(commitment, "count") else None
        return proofs.transition_proof(batch, position, pre, entries)

    def signature_proof(self, batch, position, pre):
        from l2.designs.optimistic import proofs

        return proofs.signature_proof(batch, position, pre, self.by_hash.__getitem__)


@pytest.fixture
def forger(rollup_env) -> Forger:
    return Forger(rollup_env)


def users_deposit(env, amounts=(10**18, 10**18, 10**18)):
    """The users deposit ETH (accounts 2, 3, 4: the proposer's deposit at deployment is account 1)."""
    for user, amount in zip(env.users, amounts, strict=False):
        env.client.deposit_eth(user, amount)
