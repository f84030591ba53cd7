"""The optimistic rollup's challenger: Layer 2 rebuilt from Layer-1 data alone (queue entries, registered
keys, and every batch's commitments from its posting transaction), each commitment replayed with the
same rules as the sequencer and the contract. A commitment whose transfers or entries break a rule, or
whose root is not the replayed one, is proven with the transition proof; one whose aggregate signature
does not sign its transfers, with the signature proof. Either way in one transaction, after a commitment
a block earlier, as the contract requires.

A batch that cannot be rebuilt from Layer 1 raises BatchDataUnavailable on every step: a checker that
cannot check says so, it does not wait quietly.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from l2.core.crypto import keccak
from l2.designs.optimistic import proofs
from l2.designs.optimistic.encoding import (
    QUEUE_FORCED_WITHDRAWAL,
    QueueCommitment,
    QueueEntry,
    TransferCommitment,
)
from l2.designs.optimistic.errors import BatchDataUnavailable, InvalidTransaction
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.proofs import PostedBatch
from l2.designs.optimistic.state import State, apply_queue, apply_transfers, signature_valid
from l2.runtime.service import Event


@dataclass(frozen=True)
class Fraud:
    batch: PostedBatch
    position: int
    kind: str  # "transition" or "signature"
    reason: str
    pre: State


def check_batch(batch: PostedBatch, pre: State, queue: list, domain: bytes, key_of) -> tuple[State, Fraud | None]:
    """Replay one batch from `pre`: (state after it, None), or (pre-state of the bad commitment, its fraud)."""
    state = pre
    for position, (commitment, start) in enumerate(zip(batch.commitments, batch.queue_starts, strict=True)):
        try:
            if isinstance(commitment, QueueCommitment):
                post = apply_queue(state, commitment, queue[start:start + commitment.count])
            else:
                post, _ = apply_transfers(state, commitment)
        except InvalidTransaction as exc:
            return state, Fraud(batch, position, "transition", str(exc), state)
        if post.root != commitment.post_root:
            return state, Fraud(batch, position, "transition", "the committed root is not the replayed one", state)
        if isinstance(commitment, TransferCommitment) and not signature_valid(state, commitment, domain, key_of):
            return state, Fraud(batch, position, "signature", "the aggregate signature does not sign its transfers",
                                state)
        state = post
    return state, None


@dataclass(frozen=True)
class Claimable:
    """A withdrawal Layer 1 will pay once its batch is final: a transfer to account 0 (`index` in its
    commitment), or a forced withdrawal whose ok bit is set (`entry`, `index` = its offset in the queue
    commitment)."""

    batch: PostedBatch
    position: int
    index: int
    recipient: str
    token: int
    amount: int
    entry: QueueEntry | None = None

    @property
    def batch_index(self) -> int:
        return self.batch.header[0]

    def key(self, batch_hash: bytes) -> bytes:
        """`OptimisticRollup.claimed`'s key: (batch hash, position), then the index within the commitment."""
        outer = keccak(abi_encode(["bytes32", "uint256"], [batch_hash, self.position]))
        return keccak(abi_encode(["bytes32", "uint256"], [outer, self.index]))


def describe(batch: PostedBatch) -> str:
    """'4 queue entries and 3 transfers in 2 commitments'."""
    entries = sum(c.count for c in batch.commitments if isinstance(c, QueueCommitment))
    transfers = sum(len(c.transfers) for c in batch.commitments if isinstance(c, TransferCommitment))
    parts = [f"{entries} queue entr{'y' if entries == 1 else 'ies'}"] if entries else []
    if transfers or not entries:
        parts.append(f"{transfers} transfer{'s' if transfers != 1 else ''}")
    n = len(batch.commitments)
    return f"{' and '.join(parts)} in {n} commitment{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Checked:
    """A batch replayed without fault, and the state after it."""

    batch: PostedBatch
    state: State


class Challenger:
    """A `Service`: each step syncs with Layer 1, checks every new batch, and proves the first fraud (or,
    without an account, keeps it in `frauds`: a checker that only reports).

    A batch stays checked only while the block that holds it is unchanged: after a reorg, every batch from
    the first changed block on is replayed again (a reorg below a batch may change the queue entries or
    keys it was checked against, and an identical header proves nothing about them)."""

    def __init__(self, client: RollupClient, account: LocalAccount | None, name: str = "challenger"):
        self.client, self.account, self.name = client, account, name
        self.genesis = State.genesis(client.depth)
        self.checked: list[Checked] = []  # the standing batches replayed so far, in order
        self.frauds: dict[tuple, Fraud] = {}  # found and not proven (this checker has no account), by header
        self.proven = 0
        self.last_proof: tuple = ()  # (commitment receipt, proof receipt) of the last fraud proven

    @property
    def state(self) -> State:
        """The state after the last batch checked."""
        return self.checked[-1].state if self.checked else self.genesis

    def standing(self) -> list[PostedBatch]:
        """The batches Layer 1 holds now, in order (later submissions replace reverted ones). Raises the
        BatchDataUnavailable of a standing batch nobody can rebuild (a reverted one no longer matters)."""
        chain: list[PostedBatch | BatchDataUnavailable] = []
        # In Layer 1's order (block, then log index): sorting a block's reverts before its submissions
        # would keep a batch posted and then reverted in one block.
        for index, item in self.client.history():
            del chain[index:]
            if item is not None:
                chain.append(item)
        for item in chain:
            if isinstance(item, BatchDataUnavailable):
                raise item
        return [item for item in chain if isinstance(item, PostedBatch)]

    def sync(self) -> tuple[list[Event], Fraud | None]:
        """Replay the standing batches not checked yet (after a reorg, from the first changed block on), up
        to the first fraud: (an event per batch replayed without fault, that fraud or None)."""
        events: list[Event] = []
        standing = self.standing()
        keep = 0
        while (keep < min(len(self.checked), len(standing))
               and self.checked[keep].batch.header == standing[keep].header
               and self.checked[keep].batch.block_hash == standing[keep].block_hash
               and self.checked[keep].batch.tx_hash == standing[keep].tx_hash):
            keep += 1
        del self.checked[keep:]
        queue = self.client.queue_entries()
        keys = self.client.keys()
        for batch in standing[keep:]:
            after, fraud = check_batch(batch, self.state, queue, self.client.domain, keys.__getitem__)
            if fraud is not None:
                return events, fraud
            self.checked.append(Checked(batch, after))
            events.append(Event(self.name, f"batch #{batch.header[0]} ({describe(batch)}) replayed from Layer-1 "
                                           "data: every root and signature checks"))
        return events, None

    def step(self, urgent: bool = False) -> list[Event]:
        events, fraud = self.sync()
        if fraud is not None:
            events.append(Event(self.name, f"batch #{fraud.batch.header[0]} is fraudulent: commitment "
                                           f"{fraud.position}: {fraud.reason}"))
            if self.account is None:
                self.frauds[tuple(fraud.batch.header)] = fraud
            else:
                events += self._prove(fraud)
        return events

    def _prove(self, fraud: Fraud) -> list[Event]:
        closed = fraud.batch.header[7] + self.client.challenge_window
        if self.client.chain.now() >= closed:
            return [Event(self.name, f"cannot prove it: batch #{fraud.batch.header[0]}'s challenge window closed "
                                     f"at {closed}; it is final, and so is everything built on it")]
        if fraud.kind == "transition":
            start = fraud.batch.queue_starts[fraud.position]
            commitment = fraud.batch.commitments[fraud.position]
            entries = None
            if isinstance(commitment, QueueCommitment):
                entries = self.client.queue_entries()[start:start + commitment.count]
            proof = proofs.transition_proof(fraud.batch, fraud.position, fraud.pre, entries)
        else:
            proof = proofs.signature_proof(fraud.batch, fraud.position, fraud.pre, self.client.keys().__getitem__)
        assert self.account is not None
        self.last_proof = self.client.prove(self.account, fraud.kind, proof)
        receipt = self.last_proof[1]
        self.proven += 1
        return [Event(self.name, f"proved it with the {fraud.kind} proof in one transaction ({receipt.gasUsed:,} "
                                 "gas): the batch and any later ones reverted, the proposer slashed")]

    # --- withdrawals ----------------------------------------------------------------------------

    def claimables(self, recipient: str | None = None) -> list[Claimable]:
        """Every withdrawal in the standing batches that replay without fault (to `recipient` only, if given),
        claimed or not. A fraudulent batch's withdrawals are left out, and so are those of the batches after
        it: a fraud proof will revert them all, and a wallet must not count on them."""
        self.sync()
        queue = self.client.queue_entries()
        owners: dict[int, tuple[str, int]] = {}
        out = []
        for batch in (c.batch for c in self.checked):
            for position, (commitment, start) in enumerate(zip(batch.commitments, batch.queue_starts, strict=True)):
                if isinstance(commitment, QueueCommitment):
                    for offset, ok in enumerate(commitment.ok):
                        entry = queue[start + offset]
                        if ok and entry.kind == QUEUE_FORCED_WITHDRAWAL:
                            out.append(Claimable(batch, position, offset, to_checksum_address(entry.owner),
                                                 entry.token, entry.amount, entry))
                    continue
                for index, transfer in enumerate(commitment.transfers):
                    if transfer.is_withdrawal:
                        if transfer.sender not in owners:
                            owner, token = self.client.contract.functions.accounts(transfer.sender).call()
                            owners[transfer.sender] = (to_checksum_address(owner), token)
                        owner, token = owners[transfer.sender]
                        out.append(Claimable(batch, position, index, owner, token, transfer.amount))
        if recipient is not None:
            out = [c for c in out if c.recipient.lower() == recipient.lower()]
        return out

    def is_final(self, claimable: Claimable) -> bool:
        return self.client.chain.now() >= claimable.batch.header[7] + self.client.challenge_window

    def is_claimed(self, claimable: Claimable) -> bool:
        batch_hash = bytes(self.client.contract.functions.batchHashes(claimable.batch_index).call())
        return self.client.is_claimed(claimable.key(batch_hash))

    def claim(self, sender: LocalAccount, claimable: Claimable):
        """Have Layer 1 pay `claimable` to its recipient (anyone may send it: the money goes to the owner)."""
        if claimable.entry is not None:
            return self.client.claim_forced_withdrawal(sender, claimable.batch, claimable.position,
                                                       claimable.index, claimable.entry)
        return self.client.claim_withdrawal(sender, claimable.batch, claimable.position, claimable.index)
