"""Dispute automation: answer a close that would cost our party, then settle.

The watcher polls the registry's logs for one channel: `ChannelClosed`, and the events that
end it (`ChannelSettled`, `CooperativelyClosed`). When the channel is closing on a state
that pays its party less than the newest co-signed proof the party holds, and Layer 1
would take that proof (`rules.respond_to_close`, which returns the transactions to submit:
a higher nonce, or after a crossing the same nonce with A's proposal in place of B's refused
one), it submits `updateState` within the challenge period; once the period is over it calls
`settle`. `Watchtower` acts on the same decision for a party that is offline, without its key. Whatever it reads, it
tells the party (`Party.observe`), so the party refuses payments on a closing or settled
channel at once, without a Layer-1 read of its own. Run it in the background (`start()`),
or call `poll()` from your own loop. Offline during the whole period is the one thing it
cannot fix: that is what a third-party watching service (holding proofs signed by both)
is for, and `updateState` already accepts one.
"""

from __future__ import annotations

import threading

from l2.designs.channels.party import STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B, STATUS_NONE, STATUS_OPEN, Party
from l2.designs.channels.rules import Funding, SubmitUpdate, respond_to_close
from l2.errors import L2Error
from l2.output import eth, gas
from l2.runtime.service import Event


class ChannelWatcher:
    """Watches one channel on behalf of one party; a service (`step()` returns what it saw and did)."""

    def __init__(self, party: Party, *, poll_interval: float = 0.05,
                 lock: threading.Lock | threading.RLock | None = None, settle: bool = True, name: str = "watcher",
                 names: dict[str, str] | None = None):
        self.party = party
        self.name = name
        self.names = names or {}  # address -> how events call its owner
        self.poll_interval = poll_interval
        self.lock = lock or threading.Lock()  # hold it around your own calls on an embedded chain
        self.auto_settle = settle
        self.next_block = 0
        self.closes: list = []  # ChannelClosed events seen
        self.ended = False  # a ChannelSettled or CooperativelyClosed event seen: nothing left to do
        self.actions: list[tuple[str, int | str]] = []  # ("updated", nonce) / ("settled", gas) / ("error", msg)
        self.answered = threading.Event()
        self.settled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        events = party.registry.events
        self._closed_topic = bytes.fromhex(events.ChannelClosed.topic.removeprefix("0x"))
        # One log query a round for all three events of this channel (topic 1 is the channel id).
        self._filter = {
            "address": party.registry.address,
            "topics": [[events.ChannelClosed.topic, events.ChannelSettled.topic, events.CooperativelyClosed.topic],
                       "0x" + party.channel_id.hex()],
        }

    def poll(self) -> list[tuple[str, int]]:
        """One round: read new events and, if the channel is closing, its state; act if needed."""
        with self.lock:
            return self._poll()

    def _poll(self) -> list[tuple[str, int]]:
        party = self.party
        chain = party.chain
        latest_block = chain.block_number()
        if latest_block >= self.next_block:
            logs = chain.w3.eth.get_logs({**self._filter, "fromBlock": self.next_block, "toBlock": latest_block})
            for log in logs:
                if bytes(log["topics"][0]) == self._closed_topic:
                    self.closes.append(party.registry.events.ChannelClosed().process_log(log).args)
                else:
                    self.ended = True
            self.next_block = latest_block + 1
        if self.ended:
            party.observe(STATUS_NONE, latest_block)
            return []
        if not self.closes:
            # Every way out of "open" emits one of the three events, and we have read them all up to
            # `latest_block`: the channel is open as of that block, so the party need not read it again.
            party.observe(STATUS_OPEN, latest_block)
            return []
        if self.settled.is_set():
            return []
        channel, closing_balance_a = party.onchain_state()
        deposit_a, deposit_b, settle_at, status, withdrawn_a, withdrawn_b, closing_nonce = channel
        party.observe(status, latest_block)
        if status not in (STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B):
            return []
        done = []
        best = party.best_signed_by_partner()
        onchain = Funding(deposit_a, deposit_b, withdrawn_a, withdrawn_b)
        for effect in respond_to_close(onchain, closing_nonce, closing_balance_a, settle_at, chain.now(),
                                       best.proof, party.side, self.auto_settle):
            if isinstance(effect, SubmitUpdate):
                party.update_state(best)
                done.append(("updated", best.proof.nonce))
                self.answered.set()
            else:
                receipt = party.settle()
                done.append(("settled", receipt.gasUsed))
                self.settled.set()
        self.actions.extend(done)
        return done

    def step(self, urgent: bool = False) -> list[Event]:
        """One `poll()`, told as events: a close by the partner, an answer, a settlement."""
        seen = len(self.closes)
        actions = self.poll()
        events = []
        for close in self.closes[seen:]:
            if close.closer != self.party.address:
                who = self.names.get(close.closer, close.closer)
                events.append(Event(self.name, f"{who} closed the channel with nonce {close.nonce}"))
        for action, value in actions:
            if action == "updated":
                events.append(Event(self.name, f"answered with the newer state, nonce {value}"))
            elif action == "settled":
                registry = self.party.registry
                (settled, *_) = registry.events.ChannelSettled().get_logs(
                    from_block=self.next_block - 1, argument_filters={"channelId": self.party.channel_id})
                a, b = (self.names.get(self.party.params.address_of(side), side) for side in ("A", "B"))
                events.append(Event(self.name, f"settled the channel after the challenge period: {a} got "
                                    f"{eth(settled.args.payoutA)}, {b} {eth(settled.args.payoutB)} ({gas(value)} gas)"))
        return events

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


class Watchtower:
    """Watches channels for clients who may be offline, holding only states both parties signed: no
    key of theirs. It answers a close that would cost its client with the client's newest state and
    settles after the period, paying the gas from its own account (`updateState` takes a third party's
    submission when both signatures are on the state). A service: `step()` returns what it did.

    A state is accepted only if both participants' signatures check and it is for a channel the tower
    was told about: a forged or foreign state is refused when handed over, not discovered on Layer 1.
    """

    def __init__(self, chain, registry, account, name: str = "watchtower"):
        self.chain = chain
        self.registry = registry
        self.account = account
        self.name = name
        self.clients: dict[bytes, tuple] = {}  # channel id -> (params, side, domain, best SignedProof)

    def watch(self, params, side: str, domain, signed) -> None:
        """Defend `side` of the channel `params` with `signed` (replaces an older one)."""
        from l2.designs.channels.errors import NonceNotNext, WrongChannel
        from l2.designs.channels.messages import balance_proof_digest, check_signer

        if signed.proof.channel_id != params.channel_id:
            raise WrongChannel(f"state is for channel 0x{signed.proof.channel_id.hex()}, "
                               f"not 0x{params.channel_id.hex()}")
        digest = balance_proof_digest(domain, signed.proof)
        check_signer(digest, signed.sig_a, params.participant_a, "state for the watchtower (A's signature)")
        check_signer(digest, signed.sig_b, params.participant_b, "state for the watchtower (B's signature)")
        held = self.clients.get(params.channel_id)
        if held is not None and held[3].proof.nonce > signed.proof.nonce:
            raise NonceNotNext(f"the watchtower holds nonce {held[3].proof.nonce} already, newer than "
                               f"{signed.proof.nonce}")
        self.clients[params.channel_id] = (params, side, domain, signed)

    def step(self, urgent: bool = False) -> list[Event]:
        events = []
        for channel_id, (params, side, _domain, signed) in list(self.clients.items()):
            channel, closing_balance_a = self.chain.call(self.registry.functions.channelState(channel_id))
            deposit_a, deposit_b, settle_at, status, withdrawn_a, withdrawn_b, closing_nonce = channel
            if status == STATUS_NONE:
                del self.clients[channel_id]  # settled: nothing left to defend
                continue
            if status not in (STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B):
                continue
            onchain = Funding(deposit_a, deposit_b, withdrawn_a, withdrawn_b)
            for effect in respond_to_close(onchain, closing_nonce, closing_balance_a, settle_at, self.chain.now(),
                                           signed.proof, side):
                if isinstance(effect, SubmitUpdate):
                    self.chain.transact(self.registry.functions.updateState(
                        params.as_tuple(), signed.proof.as_tuple(), signed.sig_a, signed.sig_b), self.account)
                    events.append(Event(self.name, f"answered a close of 0x{channel_id.hex()[:8]}… with nonce "
                                        f"{signed.proof.nonce}"))
                else:
                    receipt = self.chain.transact(self.registry.functions.settle(params.as_tuple()), self.account)
                    events.append(Event(self.name, f"settled 0x{channel_id.hex()[:8]}… ({gas(receipt.gasUsed)} gas)"))
        return events
