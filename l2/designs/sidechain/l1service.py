"""A validator's Layer-1 side, run beside its consensus loop in a thread of its own: the state syncs it
reads from Layer 1 up to the finalized block (`confirmations` behind the head), the checkpoints it submits
once more than 2/3 of the stake signed them, and the evidence reporter.

Layer-1 calls take milliseconds to seconds; the consensus loop never waits for them: it reads `final` and
`last_end` as they were last seen (under the node's lock), and the proposer's choice and every validator's
check of state syncs use that view (bridge.next_state_syncs, bridge.check_state_syncs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from eth_account.signers.local import LocalAccount

from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import Checkpoint
from l2.designs.sidechain.l1 import SidechainL1
from l2.designs.sidechain.messages import SetUpdate, StateSync
from l2.designs.sidechain.reporter import EvidenceReporter
from l2.errors import L2Error, TransactionReverted

POLL_INTERVAL = 0.2
SUBMIT_GRACE = 3.0  # seconds between one validator's turn to submit a checkpoint and the next one's


class L1Service:
    def __init__(self, l1: SidechainL1, account: LocalAccount, *, lock: threading.RLock,
                 log: Callable[[str], None], reporter: EvidenceReporter | None = None):
        self.l1 = l1
        self.account = account
        self.lock = lock
        self.log = log
        self.reporter = reporter
        self.confirmations = l1.confirmations()
        self.final: dict[int, StateSync] = {}  # state syncs by id, up to the finalized Layer-1 block
        self.last_end = l1.last_end()
        self.submitted: dict[int, float] = {}  # checkpoint start -> when we sent it
        self.scanned_to = -1  # Layer-1 blocks read for state syncs and set changes (final ones are never read again)
        # Every validator-set change up to the finalized block, read once: reading them all again each round
        # (a log scan from block 0) takes seconds on a long embedded chain and starves the gateway.
        self.changes: list[tuple[int, str, int, int]] = []
        self.set_view: SetUpdate | None = None  # the finalized epoch and its validator set

    def read(self) -> None:
        """Layer 1's finalized state syncs and its last checkpoint's end, into this view."""
        finalized = self.l1.chain.block_number() - self.confirmations
        fresh, changes = [], []
        if finalized > self.scanned_to:
            after = max(self.final, default=0)
            fresh = [StateSync(s.id, s.token, s.recipient, s.amount)
                     for s in self.l1.state_syncs(after, to_block=finalized, from_block=self.scanned_to + 1)]
            changes = [(c.change_id, c.signer, c.power, c.effective_epoch)
                       for c in self.l1.set_changes(from_block=self.scanned_to + 1, to_block=finalized)]
        last_end = self.l1.last_end()
        view = None
        if finalized >= 0:
            epoch = self.l1.sm.epoch().call(block_identifier=finalized)
            view = SetUpdate(epoch, bridge.validator_set_at([*self.changes, *changes], epoch))
        with self.lock:
            for sync in fresh:
                self.final[sync.id] = sync
            self.last_end = last_end
            self.set_view = view
        self.changes.extend(changes)
        self.scanned_to = max(self.scanned_to, finalized)

    def submit(self, checkpoint: Checkpoint, signatures: dict[str, bytes]) -> None:
        """Send a checkpoint with its signatures; Layer 1's refusal (another validator was first) is told."""
        self.submitted[checkpoint.start] = time.monotonic()
        if self.l1.last_end() >= checkpoint.start:
            return  # another validator's landed since we last looked: sending ours would only be refused
        # Layer 1 counts only signers with stake there now: one slashed since the set was fixed (or never
        # staked) would make it refuse the whole checkpoint, so such signatures are left out.
        powers = {signer: self.l1.voting_power(signer) for signer in signatures}
        kept = {signer: sig for signer, sig in signatures.items() if powers[signer] > 0}
        total = self.l1.total_stake()
        if not bridge.is_quorum(sum(powers[s] for s in kept), total):
            self.log(f"checkpoint {checkpoint.start}..{checkpoint.end}: signers with stake on Layer 1 hold "
                     f"{sum(powers[s] for s in kept)} of {total}, not more than 2/3: not submitted")
            return
        try:
            self.l1.submit_checkpoint(self.account, checkpoint, kept)
            self.log(f"checkpoint {checkpoint.start}..{checkpoint.end} submitted with {len(kept)} signatures")
        except TransactionReverted as exc:
            self.log(f"checkpoint {checkpoint.start}..{checkpoint.end} refused by Layer 1: {exc}")

    def run(self, stop: threading.Event, due: Callable[[], tuple[Checkpoint, dict[str, bytes]] | None]) -> None:
        """Until `stop`: read Layer 1, submit what `due` says is ready, report evidence."""
        while not stop.wait(POLL_INTERVAL):
            try:
                self.read()
                ready = due()
                if ready is not None:
                    self.submit(*ready)
                if self.reporter is not None:
                    for event in self.reporter.step():
                        self.log(str(event))
            except L2Error as exc:  # Layer 1 unreachable or refusing: try again next round
                self.log(f"layer 1: {exc}")
            except Exception as exc:  # noqa: BLE001 - a node keeps validating when its Layer-1 link breaks
                self.log(f"layer 1 link failed: {type(exc).__name__}: {exc}")

    def digest(self, checkpoint: Checkpoint) -> bytes:
        return bridge.checkpoint_digest(self.l1.chain.chain_id, self.l1.stake_manager.address, self.l1.sidechain_id,
                                        checkpoint)
