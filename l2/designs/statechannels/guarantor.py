"""The hub as guarantor of the virtual channels it funds: a service (`GuarantorWatcher.step() -> list[Event]`)
that follows every virtual channel V the hub stored a setup of on Layer 1, and gets the hub's guarantees
back from Layer-1 data alone.

The hub is no participant of V: it never sees V's payments and has no move of its own in it. What it knows
of V is its setup, any newer state shown to it (`Hub.offer_virtual_state`, the final state it checked when
releasing) and what Layer 1 holds:
- V's record (`channelRecord`: turn, finalizesAt, fingerprint);
- the events that made it: `Challenged` and `Responded` carry the state, `Concluded` the final state's hash
  and outcome, `Checkpointed` only the turn, `Paid` what a payout took;
- the input of the transactions behind those events (each proof's states and signatures), when they called
  the Adjudicator directly.
A proof read from a transaction's input is checked as an offered one is (`Hub.prove`: V's own channel id,
each signature its mover's, each move valid), and a final record is checked against the record's
fingerprint before the hub claims by it. What the hub needs and cannot rebuild raises RecordUnavailable.

Each round, for each V with a guarantee at stake (in one of the hub's ledgers, not yet paid out), it asks
`rules.decide_guarantor` what to submit and submits it with the hub's account: nothing while V's
participants are at it, a challenge once the hub wants out and they stay silent, a checkpoint or conclusion
with a newer state it was shown, and the claim of each guarantee once V and the ledger are both final.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from eth_utils import to_checksum_address

from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.rules import (
    FinalRecord,
    FixedPart,
    LedgerStake,
    SubmitChallenge,
    SubmitCheckpoint,
    SubmitClaim,
    SubmitConclude,
    VariablePart,
    decide_guarantor,
)
from l2.designs.statechannels.storage import Proof
from l2.designs.statechannels.virtual import Hub, Ledger, _guarantee_index
from l2.errors import InvalidSignature, L2Error
from l2.runtime.service import Event

# The events that set a channel's record, and where each Adjudicator call that emits one keeps its states.
_RECORD_EVENTS = ("Challenged", "Checkpointed", "Responded", "Concluded")
_SIGNED_STATES = {"challenge": "proof", "challengeAsGuarantor": "proof", "checkpoint": "proof", "respond": "response",
                  "conclude": "finalState", "concludeAndTransfer": "finalState"}


# --- reading Layer 1 (the only chain I/O besides the transactions the watcher sends) -------------------

class Layer1Reader:
    """An Adjudicator's records, the events that set them, and the input of the transactions behind those."""

    def __init__(self, chain, adjudicator):
        self.chain, self.adjudicator = chain, adjudicator

    def record(self, channel_id: bytes) -> tuple[int, int, int]:
        """(turnNumRecord, finalizesAt, fingerprint)."""
        turn, finalizes_at, fingerprint = self.chain.call(self.adjudicator.functions.channelRecord(channel_id))
        return turn, finalizes_at, fingerprint

    def record_logs(self, channel_id: bytes) -> list:
        """Every event that set the channel's record, oldest first."""
        logs = []
        for name in _RECORD_EVENTS:
            logs += getattr(self.adjudicator.events, name)().get_logs(from_block=0,
                                                                      argument_filters={"channelId": channel_id})
        return sorted(logs, key=lambda log: (log.blockNumber, log.logIndex))

    def paid(self, channel_id: bytes) -> list[tuple[int, ...]]:
        return [tuple(log.args.amounts) for log in self.adjudicator.events.Paid().get_logs(
            from_block=0, argument_filters={"channelId": channel_id})]

    def block_time(self, block_number: int) -> int:
        return int(self.chain.w3.eth.get_block(block_number)["timestamp"])

    def transaction(self, tx_hash) -> tuple[str | None, bytes]:
        """(to, input) of a transaction."""
        tx = self.chain.w3.eth.get_transaction(tx_hash)
        return tx.get("to"), bytes(tx["input"])

    def guarantee_claimed(self, ledger_id: bytes, index: int) -> bool:
        return bool(self.chain.call(self.adjudicator.functions.guaranteeClaimed(ledger_id, index)))

    def signed_states(self, log, fixed: FixedPart) -> Proof:
        """The signed states of `fixed`'s channel in the input of the transaction that emitted `log`:
        RecordUnavailable if it did not call the Adjudicator directly, or calls it for another channel."""
        where = f"{log.event} (transaction 0x{bytes(log.transactionHash).hex()})"
        to, data = self.transaction(log.transactionHash)
        if to is None or to.lower() != self.adjudicator.address.lower():
            raise e.RecordUnavailable(f"{where} did not call the Adjudicator directly: its input is not the proof")
        try:
            fn, args = self.adjudicator.decode_function_input(data)
        except Exception as exc:  # noqa: BLE001 - web3 raises several shapes for undecodable input
            raise e.RecordUnavailable(f"{where}: the input does not decode ({exc})") from None
        key = _SIGNED_STATES.get(fn.fn_name)
        if key is None:
            raise e.RecordUnavailable(f"{where} calls {fn.fn_name}, which records no state")
        if _fixed_of(args["fp"]).channel_id != fixed.channel_id:
            raise e.RecordUnavailable(f"{where}: the input is a call for another channel")
        raw = args[key] if isinstance(args[key], list | tuple) else [args[key]]
        return [(_state_of(signed["variablePart"]), [_signature_of(sig) for sig in signed["sigs"]]) for signed in raw]


def _fixed_of(raw) -> FixedPart:
    return FixedPart(tuple(to_checksum_address(p) for p in raw["participants"]), raw["channelNonce"],
                     to_checksum_address(raw["appDefinition"]), raw["challengeDuration"],
                     to_checksum_address(raw["asset"]))


def _state_of(raw) -> VariablePart:
    return VariablePart(tuple(raw["outcome"]), bytes(raw["appData"]), raw["turnNum"], raw["isFinal"])


def _signature_of(raw) -> bytes:
    return bytes(raw["r"]) + bytes(raw["s"]) + bytes([raw["v"]])


# --- what Layer 1 says, checked (pure: no chain access) -------------------------------------------------

def final_record(channel_id: bytes, turn: int, finalizes_at: int, fingerprint: int, logs: list,
                 paid: list[tuple[int, ...]]) -> tuple[FinalRecord, VariablePart | None]:
    """A final channel's record from the events that made it: the `Challenged` whose clock ran out (the
    state) or the `Concluded` (the final state's hash and outcome), less every `Paid`; checked against the
    record's fingerprint. Returns it and the full state when an event carries it."""
    made = [log for log in logs if (log.event == "Challenged" and log.args.turnNumRecord == turn
                                    and log.args.finalizesAt == finalizes_at)
            or (log.event == "Concluded" and turn == 0 and log.args.finalizesAt == finalizes_at)]
    if not made:
        raise e.RecordUnavailable(f"no Challenged or Concluded event of {channel_id.hex()} made its final record "
                                  f"(turn {turn}, final at {finalizes_at})")
    log = made[-1]
    state: VariablePart | None = None
    if log.event == "Challenged":
        state = _state_of(log.args.state)
        state_hash, outcome = m.state_hash(channel_id, state), state.outcome
    else:
        state_hash, outcome = bytes(log.args.stateHash), tuple(log.args.outcome)
    owed = outcome
    for amounts in paid:
        if len(amounts) != len(owed) or any(p > o for p, o in zip(amounts, owed, strict=True)):
            raise e.RecordUnavailable(f"a payout of {channel_id.hex()} does not fit its final outcome {outcome}")
        owed = tuple(o - p for o, p in zip(owed, amounts, strict=True))
    if m.fingerprint(turn, finalizes_at, state_hash, owed) != fingerprint:
        raise e.RecordUnavailable(f"the final record of {channel_id.hex()} rebuilt from its events does not match "
                                  "its fingerprint")
    return FinalRecord(state_hash, owed), state


def newest_proof(hub: Hub, channel_id: bytes, signed: Proof) -> Proof | None:
    """The newest non-final state of V that `signed` (states with signatures, read from Layer 1) proves, as a
    proof `Hub.prove` accepts: one state signed by everyone, or n consecutive states each signed by its
    mover. Signatures by anyone else, and chains that are no valid moves, are left out."""
    fixed = hub.virtual[channel_id][0]
    n = fixed.n
    states: dict[tuple[int, bytes], tuple[VariablePart, dict[int, bytes]]] = {}
    for state, sigs in signed:
        for sig in sigs:
            try:
                signer = m.signer_of(hub.domain, channel_id, state, sig)
            except InvalidSignature:
                continue
            if signer in fixed.participants:
                key = (state.turn_num, m.state_hash(channel_id, state))
                states.setdefault(key, (state, {}))[1][fixed.participants.index(signer)] = sig
    candidates: list[Proof] = [[(state, [by_signer[i] for i in range(n)])] for state, by_signer in states.values()
                               if len(by_signer) == n]
    by_mover: dict[int, list[tuple[VariablePart, bytes]]] = {}
    for state, by_signer in states.values():
        mover = fixed.mover(state.turn_num)
        if mover in by_signer:
            by_mover.setdefault(state.turn_num, []).append((state, by_signer[mover]))
    for turn in by_mover:
        if turn >= n - 1:
            for moves in itertools.product(*(by_mover.get(t, []) for t in range(turn - n + 1, turn + 1))):
                candidates.append([(state, [sig]) for state, sig in moves])
    best: Proof | None = None
    for proof in candidates:
        try:
            state = hub.prove(channel_id, proof)
        except L2Error:
            continue
        if not state.is_final and (best is None or state.turn_num > best[-1][0].turn_num):
            best = proof
    return best


# --- the service -----------------------------------------------------------------------------------------

@dataclass
class _LedgerOnLayer1:
    """One of the hub's ledgers as Layer 1 has it this round."""

    end: Ledger
    status: str
    closing_since: int | None
    state: VariablePart  # the state that counts: its record once final, our newest before
    owed: tuple[int, ...] | None  # once final: what its record still owes


class GuarantorWatcher:
    """Follows, for the hub, every virtual channel it stored a setup of (see the module's notes).

    `patience`: seconds V's participants may stay silent on Layer 1 once the hub wants out (it asked to
    leave V, `Hub.leave`, or a ledger holding one of V's guarantees is closing) before the hub challenges
    V itself."""

    def __init__(self, hub: Hub, *, patience: int, name: str = "hub's guarantor watcher",
                 lock: threading.RLock | None = None):
        self.hub = hub
        self.patience = patience
        self.name = name
        self.lock = lock or threading.RLock()
        self.reader = Layer1Reader(hub.with_bob.chain, hub.with_bob.adjudicator)
        self.actions: list[str] = []

    def step(self, urgent: bool = False) -> list[Event]:
        """One round over every virtual channel at stake. A channel that needs what Layer 1 does not give
        raises RecordUnavailable (naming every such channel) once the others had their round."""
        with self.lock:
            ledgers = (self._ledger(self.hub.with_alice), self._ledger(self.hub.with_bob))
            events: list[Event] = []
            failures: list[str] = []
            for channel_id in list(self.hub.virtual):
                try:
                    events += self._follow(channel_id, ledgers)
                except e.RecordUnavailable as exc:
                    failures.append(f"virtual channel {channel_id.hex()}: {exc}")
            if failures:
                done = "; ".join(str(ev) for ev in events) or "nothing"
                raise e.RecordUnavailable(f"{'; '.join(failures)} (done this round: {done})")
            return events

    def _ledger(self, end: Ledger) -> _LedgerOnLayer1:
        turn, finalizes_at, fingerprint = self.reader.record(end.channel_id)
        now = end.chain.now()
        newest = end.latest
        if newest is None:
            raise e.NothingToDo(f"ledger {end.channel_id.hex()} has no state both signed yet")
        if not finalizes_at:
            return _LedgerOnLayer1(end, "open", None, newest, None)
        # A challenge began a challenge duration before it finalizes (a conclusion, earlier than it was: the
        # hub only needs to know since when it wants out).
        since = finalizes_at - end.fixed.challenge_duration
        if finalizes_at > now:
            return _LedgerOnLayer1(end, "challenged", since, newest, None)
        record, state = final_record(end.channel_id, turn, finalizes_at, fingerprint,
                                     self.reader.record_logs(end.channel_id), self.reader.paid(end.channel_id))
        if state is None:  # concluded: on a final state both signed, so ours
            if m.state_hash(end.channel_id, newest) != record.state_hash:
                raise e.RecordUnavailable(f"ledger {end.channel_id.hex()} was concluded on a state the hub "
                                          "does not hold")
            state = newest
        return _LedgerOnLayer1(end, "final", since, state, record.owed)

    def _follow(self, channel_id: bytes, ledgers: tuple[_LedgerOnLayer1, _LedgerOnLayer1]) -> list[Event]:
        hub, reader = self.hub, self.reader
        stakes = []
        for ledger in ledgers:
            index = _guarantee_index(ledger.state, channel_id)
            claimed = (ledger.status == "final" and index is not None
                       and reader.guarantee_claimed(ledger.end.channel_id, index))
            stakes.append(LedgerStake(ledger.status, ledger.closing_since, index, claimed))
        if not any(stake.at_stake for stake in stakes):
            return []  # released, or paid out: nothing of the hub's depends on V any more
        turn, finalizes_at, fingerprint = reader.record(channel_id)
        logs = reader.record_logs(channel_id) if finalizes_at or turn else []
        now = hub.with_bob.chain.now()
        record = None
        if finalizes_at and finalizes_at <= now:
            record, _ = final_record(channel_id, turn, finalizes_at, fingerprint, logs, reader.paid(channel_id))
        shown = hub.proofs.get(channel_id)
        final = shown if shown is not None and shown[-1][0].is_final else None
        newest = shown if shown is not None and final is None else hub.setup_proof(channel_id)
        if final is None and not finalizes_at and turn > newest[-1][0].turn_num:
            newest = self._from_layer1(channel_id, turn, logs)
        actions = decide_guarantor(
            turn, finalizes_at, (stakes[0], stakes[1]), now, final_record=record, newest=newest[-1][0],
            final=None if final is None else final[0][0], leaving_since=hub.leaving.get(channel_id),
            last_activity=reader.block_time(logs[-1].blockNumber) if logs else None, patience=self.patience)
        events = []
        short = channel_id.hex()[:10] + "…"
        for action in actions:
            if isinstance(action, SubmitChallenge):
                receipt = hub.challenge_virtual(channel_id, newest)
                text = f"challenged virtual channel {short} as its guarantor with turn {action.state.turn_num}"
            elif isinstance(action, SubmitCheckpoint):
                receipt = hub.checkpoint_virtual(channel_id, newest)
                text = f"checkpointed turn {action.state.turn_num} of {short} over a challenge on turn {turn}"
            elif isinstance(action, SubmitConclude):
                assert final is not None
                receipt = hub.conclude_virtual(channel_id, final)
                text = f"concluded {short} with the final state both its participants signed"
            else:
                assert isinstance(action, SubmitClaim)
                ledger = ledgers[action.ledger]
                receipt = ledger.end.claim(hub.virtual[channel_id][0], action.target, ledger.owed,
                                           ledger_state=ledger.state)
                text = (f"claimed the guarantee for {short} from the ledger with "
                        f"{ledger.end.counterparty[:10]}… by V's final outcome {list(action.target.owed)}")
            kind = type(action).__name__.removeprefix("Submit").lower()
            self.actions.append(kind)
            events.append(Event(self.name, f"{text} ({receipt.gasUsed:,} gas)"))
        return events

    def _from_layer1(self, channel_id: bytes, turn: int, logs: list) -> Proof:
        """The newest proof of V the input of the transactions behind its record's events give: at least of
        the record's turn, or RecordUnavailable saying what could not be read."""
        fixed = self.hub.virtual[channel_id][0]
        signed: Proof = []
        unreadable: list[str] = []
        seen = set()
        for log in logs:
            if log.transactionHash in seen:
                continue
            seen.add(log.transactionHash)
            try:
                signed += self.reader.signed_states(log, fixed)
            except e.RecordUnavailable as exc:
                unreadable.append(str(exc))
        proof = newest_proof(self.hub, channel_id, signed)
        if proof is None or proof[-1][0].turn_num < turn:
            why = "; ".join(unreadable) or "no transaction behind it carries a proof of that turn signed by its movers"
            raise e.RecordUnavailable(f"its record is at turn {turn}, newer than any state the hub can prove, and "
                                      f"Layer 1 does not give one: {why}")
        return proof
