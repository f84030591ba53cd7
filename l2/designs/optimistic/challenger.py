"""The challenger: rebuilds L2 state from Layer 1 alone, checks every batch, and proves fraud automatically.

It reads only the `Rollup` contract's events and the calldata of the batch transactions - never
the sequencer's database - re-executes every transition with the same `apply`, and on the first
invalid transition or wrong post-state root commits to a fraud proof and reveals it in the next
block (`commitChallenge`, then `challengeTransition`) while the batch is still inside its
challenge window. It also serves withdrawal claims (headers + inclusion proofs).

When Layer 1 reorganises, every batch from the first changed block on is re-verified: a batch is
kept as verified only while the block that holds it is unchanged. A batch whose data cannot be
rebuilt from Layer 1 stops the challenger with BatchDataUnavailable, every time it syncs, instead of
letting it wait quietly while the batch becomes final unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount

from l2.core.crypto import keccak
from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import proofs
from l2.designs.optimistic.errors import BatchDataUnavailable, BatchStateMismatch, InvalidTransaction
from l2.designs.optimistic.l1 import PostedBatch, RollupClient
from l2.designs.optimistic.state import State, apply
from l2.designs.optimistic.txs import QUEUE_DEPOSIT, QueueEntry, QueueOp
from l2.errors import TransactionReverted
from l2.output import gas
from l2.runtime.service import Event


@dataclass(frozen=True)
class Fraud:
    batch_index: int
    position: int
    reason: str
    receipt: object = None  # the receipt of the revealed proof (`challengeTransition`), if it was sent
    error: str = ""  # why the challenge could not be sent
    commit_receipt: object = None  # the receipt of its commitment (`commitChallenge`)


@dataclass(frozen=True)
class Claimable:
    """A withdrawal in a standing batch: what L1 will pay, and the arguments to claim it."""

    batch_index: int
    position: int
    recipient: str
    token: int
    amount: int
    header: batch_mod.BatchHeader
    inclusion: tuple
    entry: QueueEntry | None  # set for forced withdrawals and refunded deposits


@dataclass
class _Verified:
    posted: PostedBatch
    chunks: list
    state_after: State
    withdrawals: list


class Challenger:
    """Checks every batch from Layer-1 data alone and proves fraud; a service (`step()`)."""

    name = "challenger"

    def __init__(self, rollup: RollupClient, account: LocalAccount | None = None, auto_challenge: bool = True):
        self.rollup = rollup
        self.account = account  # proves fraud; None: only checks (as `l2 verify` without --challenge)
        self.auto_challenge = auto_challenge and account is not None
        self.genesis = State.genesis(rollup.tree_depth)
        self.verified: list[_Verified] = []
        self.entries: dict[int, QueueEntry] = {}
        self.frauds: list[Fraud] = []
        self.unavailable: str | None = None  # why the last sync could not rebuild a batch, if it could not
        self._reported: set[bytes] = set()  # L1 transactions of the batches step() has told about
        # Logs are read once: each sync scans only the blocks after `_scanned` (number, hash), and
        # starts over from block 0 when that block is gone or changed (a reorg, a snapshot revert).
        self._scanned: tuple[int, bytes] | None = None
        self._batch_logs: list = []

    @property
    def state(self) -> State:
        return self.verified[-1].state_after if self.verified else self.genesis

    def _scan(self) -> None:
        """Read the queue entries and batch logs of the blocks not scanned yet."""
        if self._scanned is not None and self.rollup.block_hash(self._scanned[0]) != self._scanned[1]:
            self._scanned = None
        if self._scanned is None:
            self.entries, self._batch_logs = {}, []
        head = self.rollup.head()
        start = 0 if self._scanned is None else self._scanned[0] + 1
        if start > head[0]:
            return
        for entry in self.rollup.queue_entries(from_block=start, to_block=head[0]):
            self.entries[entry.index] = entry
        logs = (self.rollup.events("BatchSubmitted", start, head[0])
                + self.rollup.events("BatchesReverted", start, head[0]))
        self._batch_logs += sorted(logs, key=lambda log: (log.blockNumber, log.logIndex))
        self._scanned = head

    def standing_batches(self) -> list:
        """BatchSubmitted logs of the batches standing now (reverted ones dropped), in index order."""
        self._scan()
        standing: list = []
        for log in self._batch_logs:
            if log.event == "BatchSubmitted":
                standing = standing[: log.args.index] + [log]
            else:
                standing = standing[: log.args.fromIndex]
        return standing

    def sync(self) -> list[Fraud]:
        """Catch up with Layer 1; returns the frauds found (and challenged) in this call.

        Raises BatchDataUnavailable (and sets `unavailable`) if a standing batch cannot be rebuilt.
        """
        standing = self.standing_batches()
        keep = 0
        while (keep < len(self.verified) and keep < len(standing)
               and self.verified[keep].posted.tx_hash == bytes(standing[keep].transactionHash)
               and self.verified[keep].posted.block_hash == bytes(standing[keep].blockHash)):
            keep += 1
        del self.verified[keep:]
        found = []
        for log in standing[keep:]:
            try:
                posted = self.rollup.posted_batch(log)
            except BatchDataUnavailable as exc:
                self.unavailable = str(exc)
                raise
            self.unavailable = None
            fraud = self._verify(posted)
            if fraud is not None:
                found.append(fraud)
                self.frauds.append(fraud)
                break
        return found

    def step(self, urgent: bool = False) -> list[Event]:
        """One `sync()`, told as events: each batch checked, each fraud found and proven, or that a batch
        cannot be checked at all (said every round: nothing built on it can be trusted)."""
        try:
            frauds = self.sync()
        except BatchDataUnavailable as exc:
            return [Event(self.name, f"CANNOT CHECK the rollup: {exc} (nothing built on it can be trusted; "
                          "it tries again every round)")]
        events = []
        for fraud in frauds:
            events.append(Event(self.name, f"batch #{fraud.batch_index} is fraudulent: {fraud.reason}"))
            if fraud.receipt is None:
                events.append(Event(self.name, f"could not challenge it: {fraud.error}"))
                continue
            # The commitment's gas is left out: its hash's zero bytes make it vary by a few gas run to run.
            events.append(Event(self.name, f"committed to a proof, then proved it on Layer 1 in one transaction "
                                f"({gas(fraud.receipt.gasUsed)} gas): batch #{fraud.batch_index} and any later ones "
                                "reverted, the proposer's bond slashed (half to the challenger, half burned)"))
        for verified in self.verified:
            if verified.posted.tx_hash not in self._reported:
                self._reported.add(verified.posted.tx_hash)
                events.append(Event(self.name, f"batch #{verified.posted.header.index} re-executed from Layer-1 "
                                    "data: state root matches"))
        return events

    def _verify(self, posted: PostedBatch) -> Fraud | None:
        header = posted.header
        chunks = batch_mod.split(posted.data, header.queue_start)
        if header.prev_root != self.state.root:
            raise BatchStateMismatch(f"batch {header.index} builds on root 0x{header.prev_root.hex()}, but this "
                                     f"challenger's state is 0x{self.state.root.hex()}; the contract and "
                                     "l2/designs/optimistic disagree")
        state = self.state
        withdrawals = []
        for position, chunk in enumerate(chunks):
            tx = proofs.decode_chunk(chunk, self.entries, header.proposer)
            try:
                new_state, receipt = apply(state, tx, self.rollup.domain)
            except InvalidTransaction as exc:
                return self._challenge(posted, chunks, position, state, tx, f"invalid transaction: {exc}")
            if new_state.root != chunk.post_root:
                return self._challenge(posted, chunks, position, state, tx,
                                       f"post-state root {chunk.post_root.hex()} should be {new_state.root.hex()}")
            if receipt.withdrawal is not None:
                recipient, token, amount = receipt.withdrawal
                entry = tx.entry if isinstance(tx, QueueOp) else None
                withdrawals.append(Claimable(header.index, position, recipient, token, amount, header,
                                             batch_mod.inclusion(chunks, position), entry))
            state = new_state
        self.verified.append(_Verified(posted, chunks, state, withdrawals))
        return None

    def _challenge(self, posted, chunks, position, pre_state, tx, reason) -> Fraud:
        header = posted.header
        if not self.auto_challenge:
            return Fraud(header.index, position, reason, error="auto_challenge is off")
        if self.rollup.chain.now() >= header.timestamp + self.rollup.challenge_window:
            return Fraud(header.index, position, reason, error="challenge window is over")
        proof = proofs.fraud_proof(header, chunks, position, pre_state, tx, self.rollup.domain)
        try:
            commit, receipt = self.rollup.challenge(self.account, proof)
        except TransactionReverted as exc:
            return Fraud(header.index, position, reason, error=str(exc))
        return Fraud(header.index, position, reason, receipt=receipt, commit_receipt=commit)

    def claimables(self, recipient: str | None = None) -> list[Claimable]:
        """Withdrawals in standing verified batches (final or not), optionally for one recipient."""
        out = [w for v in self.verified for w in v.withdrawals]
        if recipient is not None:
            out = [w for w in out if w.recipient.lower() == recipient.lower()]
        return out

    def is_final(self, batch_index: int) -> bool:
        header = self.verified[batch_index].posted.header
        return self.rollup.chain.now() >= header.timestamp + self.rollup.challenge_window

    def is_claimed(self, w: Claimable) -> bool:
        """Whether Layer 1 has paid `w` already (it keys claims by batch commitment and position)."""
        commitment = self.rollup.fn.batchCommitment(w.batch_index).call()
        return self.rollup.fn.claimed(keccak(abi_encode(["bytes32", "uint256"], [commitment, w.position]))).call()

    def claim(self, sender: LocalAccount, w: Claimable):
        """Claim one withdrawal on L1 (anyone may send it; L1 pays the recipient)."""
        if w.entry is not None and w.entry.kind == QUEUE_DEPOSIT:
            return self.rollup.claim_deposit_refund(sender, w.header, w.inclusion, w.entry)
        if w.entry is not None:
            return self.rollup.claim_forced_withdrawal(sender, w.header, w.inclusion, w.entry)
        return self.rollup.claim_withdrawal(sender, w.header, w.inclusion)
