"""Dispute automation: answer a stale close with our newer proof, then settle.

The watcher polls the registry's `ChannelClosed` events for one channel. When the
channel is closing on a state that pays its party less than the newest co-signed
proof the party holds (`rules.worth_answering`), it submits `updateState` within
the challenge period; once the period is over it calls `settle`. Run it in the background (`start()`), or call `poll()`
from your own loop. Offline during the whole period is the one thing it cannot
fix: that is what a third-party watching service (holding proofs signed by both)
is for, and `updateState` already accepts one.
"""

from __future__ import annotations

import threading

from l2.channels.party import STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B, Party
from l2.channels.rules import Funding, worth_answering
from l2.errors import L2Error


class ChannelWatcher:
    """Watches one channel on behalf of one party."""

    def __init__(self, party: Party, *, poll_interval: float = 0.05, lock: threading.Lock | None = None,
                 settle: bool = True):
        self.party = party
        self.poll_interval = poll_interval
        self.lock = lock or threading.Lock()  # hold it around your own calls on an embedded chain
        self.auto_settle = settle
        self.next_block = 0
        self.closes: list = []  # ChannelClosed events seen
        self.actions: list[tuple[str, int]] = []  # ("updated", nonce) / ("settled", gas) / ("error", msg)
        self.answered = threading.Event()
        self.settled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> list[tuple[str, int]]:
        """One round: read new close events and the channel's state, act if needed."""
        with self.lock:
            return self._poll()

    def _poll(self) -> list[tuple[str, int]]:
        party = self.party
        chain = party.chain
        latest_block = chain.w3.eth.block_number
        if latest_block >= self.next_block:
            logs = party.registry.events.ChannelClosed().get_logs(
                from_block=self.next_block, to_block=latest_block, argument_filters={"channelId": party.channel_id}
            )
            self.closes.extend(log.args for log in logs)
            self.next_block = latest_block + 1
        if not self.closes or self.settled.is_set():
            return []
        channel, closing_balance_a = party.onchain_state()
        deposit_a, deposit_b, settle_at, status, withdrawn_a, withdrawn_b, closing_nonce = channel
        if status not in (STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B):
            return []
        done = []
        now = chain.now()
        best = party.best_signed_by_partner()
        onchain = Funding(deposit_a, deposit_b, withdrawn_a, withdrawn_b)
        if now < settle_at - 1 and worth_answering(onchain, closing_nonce, closing_balance_a, best.proof, party.side):
            party.update_state(best)
            done.append(("updated", best.proof.nonce))
            self.answered.set()
        elif now >= settle_at and self.auto_settle:
            receipt = party.settle()
            done.append(("settled", receipt.gasUsed))
            self.settled.set()
        self.actions.extend(done)
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except L2Error as exc:  # a race with the partner (e.g. already settled): log, keep watching
                self.actions.append(("error", str(exc)))
            self._stop.wait(self.poll_interval)

    def start(self) -> ChannelWatcher:
        self._thread = threading.Thread(target=self._run, name="channel-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ChannelWatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
