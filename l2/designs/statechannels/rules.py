"""The state-channel protocol's rules as pure functions over immutable values.

- the adjudicator's rules for every move (`check_transition`) and for a supported state (`check_support`);
- each app's rule, one function each, twin of its Solidity `validTransition`:
  `rps_transition` (`RockPaperScissors.sol`) and `payment_transition` (`SingleDirectionPayment.sol`);
- the payout of a finalized outcome from a channel's holdings (`payout`);
- what a party should submit given what Layer 1 says (`decide`): the decision only, as actions; the
  watcher performs them.

The party, the watcher, the demo and the tests call these functions; nothing here signs, stores or sends.
Every refusal is the `errors.py` class named like the Solidity custom error that refuses the same input.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from l2.core.crypto import keccak
from l2.designs.statechannels import errors as e

ZERO_ADDRESS = "0x" + "00" * 20
_FIXED_PART_TYPE = "(address[],uint64,address,uint48,address)"


@dataclass(frozen=True)
class FixedPart:
    """What never changes while the channel lives; its hash is the channel id."""

    participants: tuple[str, ...]
    channel_nonce: int
    app_definition: str
    challenge_duration: int
    asset: str = ZERO_ADDRESS  # address(0) = ETH

    def as_tuple(self) -> tuple:
        return (list(self.participants), self.channel_nonce, self.app_definition, self.challenge_duration, self.asset)

    @property
    def channel_id(self) -> bytes:
        cached = self.__dict__.get("_id")
        if cached is None:
            cached = keccak(abi_encode([_FIXED_PART_TYPE], [self.as_tuple()]))
            object.__setattr__(self, "_id", cached)
        return cached

    @property
    def n(self) -> int:
        return len(self.participants)

    def mover(self, turn_num: int) -> int:
        return turn_num % len(self.participants)

    def to_json(self) -> dict:
        return {"participants": list(self.participants), "channelNonce": self.channel_nonce,
                "appDefinition": self.app_definition, "challengeDuration": self.challenge_duration,
                "asset": self.asset}

    @classmethod
    def from_json(cls, data: dict) -> FixedPart:
        return cls(tuple(to_checksum_address(p) for p in data["participants"]), int(data["channelNonce"]),
                   to_checksum_address(data["appDefinition"]), int(data["challengeDuration"]),
                   to_checksum_address(data["asset"]))


@dataclass(frozen=True)
class VariablePart:
    """Who gets what (one amount per participant), the app's data, whose turn, final or not."""

    outcome: tuple[int, ...]
    app_data: bytes
    turn_num: int
    is_final: bool = False

    def as_tuple(self) -> tuple:
        return (list(self.outcome), self.app_data, self.turn_num, self.is_final)

    @property
    def total(self) -> int:
        return sum(self.outcome)

    def to_json(self) -> dict:
        return {"outcome": [str(a) for a in self.outcome], "appData": "0x" + self.app_data.hex(),
                "turnNum": self.turn_num, "isFinal": self.is_final}

    @classmethod
    def from_json(cls, data) -> VariablePart:
        """Strict: every field present and of its JSON type, every amount a uint256 (MalformedState)."""
        if not isinstance(data, dict):
            raise e.MalformedState("state is not an object")
        try:
            outcome_raw, app_raw, turn, final = data["outcome"], data["appData"], data["turnNum"], data["isFinal"]
        except KeyError as exc:
            raise e.MalformedState(f"state.{exc.args[0]} is missing") from None
        if not isinstance(outcome_raw, list) or not all(isinstance(a, str) and a.isdigit() for a in outcome_raw):
            raise e.MalformedState("state.outcome must be a list of decimal strings")
        outcome = tuple(int(a) for a in outcome_raw)
        if any(a >= 2**256 for a in outcome):
            raise e.MalformedState("state.outcome has an amount past uint256")
        if not isinstance(app_raw, str) or not app_raw.startswith("0x"):
            raise e.MalformedState("state.appData must be 0x-hex")
        try:
            app_data = bytes.fromhex(app_raw[2:])
        except ValueError:
            raise e.MalformedState("state.appData is not hex") from None
        if type(turn) is not int or not 0 <= turn < 2**48:
            raise e.MalformedState("state.turnNum must be an integer in uint48")
        if type(final) is not bool:
            raise e.MalformedState("state.isFinal must be true or false")
        return cls(outcome, app_data, turn, final)


AppRule = Callable[[FixedPart, VariablePart, VariablePart, int], None]


# --- the adjudicator's rules -----------------------------------------------------------------------

def check_outcome_length(fixed: FixedPart, state: VariablePart) -> None:
    if len(state.outcome) != fixed.n:
        raise e.OutcomeLengthMismatch(f"outcome has {len(state.outcome)} amounts for {fixed.n} participants")


def check_transition(fixed: FixedPart, frm: VariablePart, to: VariablePart, app: AppRule) -> None:
    """Every rule a move must keep: the adjudicator's (`_requireValidTransition`), then the app's."""
    if to.turn_num != frm.turn_num + 1:
        raise e.TurnNotNext(f"turn {to.turn_num} cannot follow turn {frm.turn_num}")
    if frm.is_final:
        raise e.FinalStateCannotChange(f"state {frm.turn_num} is final")
    if to.is_final:
        raise e.FinalStateNeedsAllSignatures(f"state {to.turn_num} is final: only everyone together concludes")
    check_outcome_length(fixed, frm)
    check_outcome_length(fixed, to)
    if frm.total != to.total:
        raise e.OutcomeTotalChanged(f"outcome total {frm.total} became {to.total}")
    if to.turn_num < fixed.n:
        if frm.outcome != to.outcome or frm.app_data != to.app_data:
            raise e.SetupStateChanged(f"setup state {to.turn_num} changes the outcome or the app data")
        return
    app(fixed, frm, to, fixed.mover(to.turn_num))


def check_support(fixed: FixedPart, proof: list[tuple[VariablePart, tuple[str, ...]]], app: AppRule) -> VariablePart:
    """The last state of `proof` if it is supported (`Adjudicator._requireSupported`): one state signed by
    everyone, or n consecutive moves each signed by its mover and each valid. `proof` pairs each state with
    the addresses its signatures recover to. Returns the supported state."""
    if len(proof) == 1:
        state, signers = proof[0]
        check_outcome_length(fixed, state)
        check_signed_by_all(fixed, signers)
        return state
    if len(proof) != fixed.n:
        raise e.NotSignedByAll(f"a proof is one state signed by all or {fixed.n} moves, not {len(proof)} states")
    check_outcome_length(fixed, proof[0][0])
    for i, (state, signers) in enumerate(proof):
        if i:
            check_transition(fixed, proof[i - 1][0], state, app)
        check_mover_signed(fixed, state, signers)
    return proof[-1][0]


def check_mover_signed(fixed: FixedPart, state: VariablePart, signers: tuple[str, ...]) -> None:
    expected = fixed.participants[fixed.mover(state.turn_num)]
    if tuple(signers) != (expected,):
        raise e.NotMover(f"state {state.turn_num} must be signed by {expected} alone, not {list(signers)}")


def check_signed_by_all(fixed: FixedPart, signers: tuple[str, ...]) -> None:
    if tuple(signers) != fixed.participants:
        raise e.NotSignedByAll(f"signed by {list(signers)}, not by every participant in order")


# --- rock-paper-scissors ---------------------------------------------------------------------------

class Phase(IntEnum):
    START = 0
    COMMIT = 1
    PLAY = 2
    REVEAL = 3


ROCK, PAPER, SCISSORS = 1, 2, 3
PLAYS = {ROCK: "rock", PAPER: "paper", SCISSORS: "scissors"}
_ZERO32 = bytes(32)


@dataclass(frozen=True)
class RPSData:
    phase: Phase
    stake: int
    commitment: bytes = _ZERO32
    play_b: int = 0
    play_a: int = 0
    salt: bytes = _ZERO32

    def encode(self) -> bytes:
        """abi.encode of the six static words (by hand: a move encodes and decodes this on the hot path)."""
        return b"".join((int(self.phase).to_bytes(32, "big"), self.stake.to_bytes(32, "big"), self.commitment,
                         self.play_b.to_bytes(32, "big"), self.play_a.to_bytes(32, "big"), self.salt))

    @classmethod
    def decode(cls, data: bytes) -> RPSData:
        """As Solidity's `abi.decode(appData, (RPSData))`: refuses what it would revert on (a short input,
        a phase past Reveal, a play word past uint8); longer input is read for its first six words."""
        if len(data) < 192:
            raise e.MalformedState("appData is too short for a rock-paper-scissors state")
        words = [data[i:i + 32] for i in range(0, 192, 32)]
        phase, play_b, play_a = (int.from_bytes(words[i], "big") for i in (0, 3, 4))
        if phase > Phase.REVEAL or play_b > 255 or play_a > 255:
            raise e.MalformedState("appData has a phase or a play out of range")
        return cls(Phase(phase), int.from_bytes(words[1], "big"), words[2], play_b, play_a, words[5])


def commitment_of(play: int, salt: bytes) -> bytes:
    """keccak256(abi.encode(uint8 play, bytes32 salt)): what the first player commits to."""
    return keccak(play.to_bytes(32, "big") + salt)


def rps_winner(play_a: int, play_b: int) -> int:
    """Stakes A gets back from the Play outcome: 0 (B won), 1 (draw), 2 (A won)."""
    if play_a == play_b:
        return 1
    return 2 if play_a % 3 == (play_b + 1) % 3 else 0


def rps_transition(fixed: FixedPart, frm: VariablePart, to: VariablePart, mover: int) -> None:
    """Rock-paper-scissors with commit-reveal; the twin of `RockPaperScissors.validTransition`."""
    if fixed.n != 2:
        raise e.WrongParticipantCount(f"{fixed.n} participants")
    a, b = RPSData.decode(frm.app_data), RPSData.decode(to.app_data)
    if a.stake != b.stake:
        raise e.StakeChanged(f"stake {a.stake} became {b.stake}")
    from_a, from_b = frm.outcome[0], frm.outcome[1]

    def require_mover(expected: int) -> None:
        if mover != expected:
            raise e.WrongMover(f"participant {mover} moved; this phase is participant {expected}'s")

    def require_outcome(amount_a: int, amount_b: int) -> None:
        if to.outcome[0] != amount_a or to.outcome[1] != amount_b:
            raise e.WrongPayout(f"outcome must be ({amount_a}, {amount_b}), got {to.outcome[:2]}")

    def require_play(play: int) -> None:
        if play not in PLAYS:
            raise e.InvalidPlay(f"play {play} is not rock (1), paper (2) or scissors (3)")

    if (a.phase, b.phase) == (Phase.START, Phase.COMMIT):
        require_mover(0)
        if from_a < a.stake or from_b < a.stake:
            raise e.StakeNotAffordable(f"stake {a.stake} with balances {from_a} and {from_b}")
        require_outcome(from_a, from_b)
        if b.commitment == _ZERO32:
            raise e.EmptyCommitment("the commitment is zero")
        if b.play_a or b.play_b or b.salt != _ZERO32:
            raise e.DataNotCleared("a commitment carries no plays and no salt")
    elif (a.phase, b.phase) == (Phase.COMMIT, Phase.PLAY):
        require_mover(1)
        if b.commitment != a.commitment:
            raise e.CommitmentChanged("the commitment changed")
        require_play(b.play_b)
        if b.play_a or b.salt != _ZERO32:
            raise e.DataNotCleared("the second player cannot reveal the first one's play")
        if from_a < a.stake:
            # Solidity's checked subtraction panics here; no honest state gets there (checked at Commit).
            raise e.WrongPayout("the first player cannot cover the stake")
        require_outcome(from_a - a.stake, from_b + a.stake)
    elif (a.phase, b.phase) == (Phase.PLAY, Phase.REVEAL):
        require_mover(0)
        if b.commitment != a.commitment:
            raise e.CommitmentChanged("the commitment changed")
        if b.play_b != a.play_b:
            raise e.PlayChanged("the second player's play changed")
        require_play(b.play_a)
        if commitment_of(b.play_a, b.salt) != a.commitment:
            raise e.RevealMismatch("the revealed play and salt do not match the commitment")
        shift = rps_winner(b.play_a, b.play_b) * a.stake
        if from_b < shift:
            raise e.WrongPayout("the second player cannot cover the payout")
        require_outcome(from_a + shift, from_b - shift)
    elif (a.phase, b.phase) == (Phase.REVEAL, Phase.START):
        require_mover(1)
        require_outcome(from_a, from_b)
        if b.commitment != _ZERO32 or b.play_a or b.play_b or b.salt != _ZERO32:
            raise e.DataNotCleared("a new round starts with nothing committed or played")
    else:
        raise e.InvalidPhaseTransition(f"{a.phase.name} cannot become {b.phase.name}")


# --- single-direction payment ----------------------------------------------------------------------

def payment_transition(fixed: FixedPart, frm: VariablePart, to: VariablePart, mover: int) -> None:
    """Participant 0 pays participant 1; the twin of `SingleDirectionPayment.validTransition`."""
    if frm.app_data != to.app_data:
        raise e.AppDataChanged("the payment app's data never changes")
    for i in range(2, len(frm.outcome)):
        if frm.outcome[i] != to.outcome[i]:
            raise e.BystanderChanged(f"participant {i}'s amount changed")
    if mover != 0:
        if frm.outcome[:2] != to.outcome[:2]:
            raise e.PayeeCannotMoveFunds("the payee only acknowledges")
        return
    if to.outcome[0] > frm.outcome[0]:
        raise e.PaymentReversed(f"payer's amount went up from {frm.outcome[0]} to {to.outcome[0]}")
    expected = frm.outcome[1] + (frm.outcome[0] - to.outcome[0])
    if to.outcome[1] != expected:
        raise e.PayeeNotCredited(f"payee must get {expected}, got {to.outcome[1]}")


def consensus_transition(fixed: FixedPart, frm: VariablePart, to: VariablePart, mover: int) -> None:
    """Ledger channels: no single participant moves (`ConsensusApp`); every state is signed by all."""
    raise e.NeedsEveryonesSignature("a ledger state needs every participant's signature")


APPS: dict[str, AppRule] = {"rps": rps_transition, "payment": payment_transition, "ledger": consensus_transition}
CONTRACT_OF_APP = {"rps": "RockPaperScissors", "payment": "SingleDirectionPayment", "ledger": "ConsensusApp"}


# --- guarantees: ledger channels funding virtual channels -------------------------------------------

_GUARANTEES_TYPE = "(bytes32,uint256,uint8,uint8,uint8)[]"


@dataclass(frozen=True)
class Guarantee:
    """Part of a two-party ledger's holdings set aside for a virtual channel (`Adjudicator.Guarantee`)."""

    target: bytes  # the virtual channel's id
    amount: int  # its whole outcome total
    beneficiary: int  # ledger participant who gets the target's outcome at `target_index`
    target_index: int
    funder: int  # ledger participant whose share the amount came from

    def as_tuple(self) -> tuple:
        return (self.target, self.amount, self.beneficiary, self.target_index, self.funder)


def encode_guarantees(guarantees: tuple[Guarantee, ...]) -> bytes:
    return abi_encode([_GUARANTEES_TYPE], [[g.as_tuple() for g in guarantees]])


def decode_guarantees(app_data: bytes) -> tuple[Guarantee, ...]:
    try:
        rows = abi_decode([_GUARANTEES_TYPE], app_data, strict=True)[0]
    except Exception:  # noqa: BLE001 - every eth_abi decoding error means the same here
        raise e.MalformedState("a ledger's appData is not a list of guarantees") from None
    return tuple(Guarantee(*row) for row in rows)


def guarantee_split(g: Guarantee, target_outcome: tuple[int, ...]) -> tuple[int, int]:
    """`Adjudicator._split`: (to the beneficiary, to the other ledger participant). A target outcome whose
    total is not the guaranteed amount gives the funder everything back."""
    if sum(target_outcome) == g.amount and g.target_index < len(target_outcome):
        to_beneficiary = target_outcome[g.target_index]
    else:
        to_beneficiary = g.amount if g.funder == g.beneficiary else 0
    return to_beneficiary, g.amount - to_beneficiary


def fund_guarantee(ledger: VariablePart, g: Guarantee) -> VariablePart:
    """The next ledger state: `g.amount` leaves the funder's share into a new guarantee."""
    if ledger.outcome[g.funder] < g.amount:
        raise e.StakeNotAffordable(f"the funder holds {ledger.outcome[g.funder]}, the guarantee needs {g.amount}")
    outcome = list(ledger.outcome)
    outcome[g.funder] -= g.amount
    guarantees = (*decode_guarantees(ledger.app_data), g) if ledger.app_data else (g,)
    return VariablePart(tuple(outcome), encode_guarantees(guarantees), ledger.turn_num + 1)


def release_guarantee(ledger: VariablePart, target: bytes, target_outcome: tuple[int, ...]) -> VariablePart:
    """The next ledger state: the guarantee for `target` is gone, its amount split by the target's final
    outcome into the two shares (what `claimGuarantee` would pay, without Layer 1)."""
    guarantees = decode_guarantees(ledger.app_data)
    matching = [g for g in guarantees if g.target == target]
    if len(matching) != 1:
        raise e.WrongChannel(f"the ledger has {len(matching)} guarantees for {target.hex()}")
    g = matching[0]
    to_beneficiary, to_other = guarantee_split(g, target_outcome)
    outcome = list(ledger.outcome)
    outcome[g.beneficiary] += to_beneficiary
    outcome[1 - g.beneficiary] += to_other
    rest = tuple(x for x in guarantees if x is not g)
    return VariablePart(tuple(outcome), encode_guarantees(rest), ledger.turn_num + 1)


def ledger_total(ledger: VariablePart) -> int:
    """What a ledger state accounts for: its outcome and its guarantees."""
    guarantees = decode_guarantees(ledger.app_data) if ledger.app_data else ()
    return ledger.total + sum(g.amount for g in guarantees)


def check_virtual_setup(virtual: FixedPart, proof: list[tuple[VariablePart, tuple[str, ...]]], amount: int,
                        payer: str, payee: str, app: str, max_duration: int) -> VariablePart:
    """What a hub checks before it guarantees `virtual`: a channel between its two ledger counterparties
    (`payer`, `payee`) on the single-direction payment app the hub knows (`app`: the rule it checks moves
    with is that contract's twin, and any other code could let a mover take the payee's money), with a
    challenge duration of at most `max_duration` seconds (the hub's guarantee is locked that long per
    challenge), set up (a supported state at the last setup turn, `check_support`: the proof pairs each
    state with the addresses its signatures recover to) and paying all of `amount` to the payer. This proof
    is what the hub will challenge with if both go silent, so it must be one the Adjudicator accepts.
    Returns the set-up state."""
    if virtual.participants != (payer, payee):
        raise e.LedgerUpdateRefused(f"the virtual channel is between {list(virtual.participants)}, not the "
                                    f"ledgers' counterparties {[payer, payee]}")
    if virtual.app_definition.lower() != app.lower():
        raise e.LedgerUpdateRefused(f"the virtual channel runs app {virtual.app_definition}, not the payment app "
                                    f"{app}")
    if not 0 < virtual.challenge_duration <= max_duration:
        raise e.LedgerUpdateRefused(f"the virtual channel's challenge duration is {virtual.challenge_duration} s; "
                                    f"the hub guarantees none longer than {max_duration} s")
    state = check_support(virtual, proof, APPS["payment"])
    if state.turn_num != virtual.n - 1 or state.is_final or state.outcome != (amount, 0):
        raise e.LedgerUpdateRefused(f"virtual channel setup {state} is not ({amount}, 0) at turn {virtual.n - 1}")
    return state


# --- moves an honest player makes ------------------------------------------------------------------

def next_state(state: VariablePart, outcome: tuple[int, ...] | None = None, app_data: bytes | None = None
               ) -> VariablePart:
    return replace(state, turn_num=state.turn_num + 1, outcome=state.outcome if outcome is None else outcome,
                   app_data=state.app_data if app_data is None else app_data)


def pay(state: VariablePart, amount: int) -> VariablePart:
    """The payer's move paying `amount` more."""
    outcome = (state.outcome[0] - amount, state.outcome[1] + amount, *state.outcome[2:])
    return next_state(state, outcome)


def rps_move(state: VariablePart, *, play: int | None = None, salt: bytes | None = None,
             rng: random.Random | None = None) -> tuple[VariablePart, int | None, bytes | None]:
    """The next rock-paper-scissors move from `state`: (state, the play, the salt). A's commit takes `play`
    and `salt` (or draws them), B's play `play`; A's reveal needs the play and salt it committed to."""
    rng = rng or random.Random()
    data = RPSData.decode(state.app_data)
    a, b = state.outcome[0], state.outcome[1]
    rest = state.outcome[2:]
    if data.phase == Phase.START:
        play = play or rng.randint(1, 3)
        salt = salt or rng.randbytes(32)
        new = RPSData(Phase.COMMIT, data.stake, commitment_of(play, salt))
        return next_state(state, app_data=new.encode()), play, salt
    if data.phase == Phase.COMMIT:
        play = play or rng.randint(1, 3)
        new = RPSData(Phase.PLAY, data.stake, data.commitment, play_b=play)
        return next_state(state, (a - data.stake, b + data.stake, *rest), new.encode()), play, None
    if data.phase == Phase.PLAY:
        if play is None or salt is None:
            raise e.NothingToDo("the reveal needs the play and salt committed to")
        shift = rps_winner(play, data.play_b) * data.stake
        new = RPSData(Phase.REVEAL, data.stake, data.commitment, data.play_b, play, salt)
        return next_state(state, (a + shift, b - shift, *rest), new.encode()), play, salt
    return next_state(state, app_data=RPSData(Phase.START, data.stake).encode()), None, None


# --- payout ----------------------------------------------------------------------------------------

def payout(held: int, owed: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """`Adjudicator._payOut`: pay `owed` in participant order from `held`; (paid, still owed, held after)."""
    paid = []
    for amount in owed:
        take = min(amount, held)
        held -= take
        paid.append(take)
    return tuple(paid), tuple(o - p for o, p in zip(owed, paid, strict=True)), held


# --- what to submit, given Layer 1 -----------------------------------------------------------------

@dataclass(frozen=True)
class OnChain:
    """A channel as Layer 1 has it: its record and, if challenged or final, the state it records."""

    turn_num_record: int
    finalizes_at: int  # 0 open, > now challenged, <= now final
    held: int
    recorded: VariablePart | None = None  # the challenged or concluded state (from the events)
    owed: tuple[int, ...] | None = None  # what is still owed once final (after any payout)

    def status(self, now: int) -> str:
        if self.finalizes_at == 0:
            return "open"
        return "challenged" if self.finalizes_at > now else "final"


@dataclass(frozen=True)
class SubmitCheckpoint:
    """Answer a stale challenge with a newer supported state."""

    state: VariablePart


@dataclass(frozen=True)
class SubmitRespond:
    """Answer a challenge with the next move (ours)."""

    challenged: VariablePart
    move: VariablePart


@dataclass(frozen=True)
class SubmitChallenge:
    """Challenge with our newest supported state: the opponent must move or lose by timeout."""

    state: VariablePart


@dataclass(frozen=True)
class SubmitTransfer:
    """Pay out a final channel."""

    owed: tuple[int, ...]


Action = SubmitCheckpoint | SubmitRespond | SubmitChallenge | SubmitTransfer


def decide(chain: OnChain, newest: VariablePart | None, me: int, n: int, now: int, *,
           waiting_since: int | None = None, patience: int | None = None,
           our_move: VariablePart | None = None) -> list[Action]:
    """What a participant should submit now.

    `newest`: our newest supported state; `waiting_since`: when the opponent's turn began (None if it is
    ours, or if we are not waiting); `patience`: seconds we wait for a silent opponent before challenging
    (None: never); `our_move`: the move we would make from the challenged state, if it is our turn there.
    """
    status = chain.status(now)
    if status == "final":
        if chain.held and chain.owed is not None and any(chain.owed):
            return [SubmitTransfer(chain.owed)]
        return []
    if status == "challenged":
        if newest is not None and newest.turn_num > chain.turn_num_record:
            return [SubmitCheckpoint(newest)]
        recorded = chain.recorded
        if (recorded is not None and our_move is not None and (recorded.turn_num + 1) % n == me
                and our_move.turn_num == recorded.turn_num + 1):
            return [SubmitRespond(recorded, our_move)]
        return []
    if (newest is not None and waiting_since is not None and patience is not None
            and now - waiting_since >= patience and newest.turn_num >= chain.turn_num_record):
        return [SubmitChallenge(newest)]
    return []


# --- what a hub guaranteeing a virtual channel should submit, given Layer 1 ----------------------------

@dataclass(frozen=True)
class FinalRecord:
    """What a final channel's record holds, as `transfer` and `claimGuarantee` take it: its final state's
    hash and what the record still owes (the outcome, less any payout)."""

    state_hash: bytes
    owed: tuple[int, ...]


@dataclass(frozen=True)
class LedgerStake:
    """One of the hub's two ledgers as it bears on a virtual channel V the hub guarantees."""

    status: str  # "open", "challenged" or "final" on Layer 1
    closing_since: int | None  # when the ledger's challenge began (None while it is open)
    index: int | None  # V's guarantee in the ledger state that counts (its record once final, else our newest)
    claimed: bool  # that guarantee is paid out already

    @property
    def at_stake(self) -> bool:
        return self.index is not None and not self.claimed


@dataclass(frozen=True)
class SubmitConclude:
    """Finalize at once with a final state every participant signed."""

    state: VariablePart


@dataclass(frozen=True)
class SubmitClaim:
    """Pay guarantee `index` of one of the hub's ledgers (0: with the payer, 1: with the payee) by V's
    final record."""

    ledger: int
    index: int
    target: FinalRecord


GuarantorAction = SubmitChallenge | SubmitCheckpoint | SubmitConclude | SubmitClaim


def decide_guarantor(turn_num_record: int, finalizes_at: int, ledgers: tuple[LedgerStake, LedgerStake], now: int, *,
                     final_record: FinalRecord | None, newest: VariablePart | None, final: VariablePart | None,
                     leaving_since: int | None, last_activity: int | None, patience: int) -> list[GuarantorAction]:
    """What a hub should submit now for a virtual channel V it guarantees but does not play in.

    `turn_num_record`, `finalizes_at`: V's record; `final_record`: what it holds once final (rebuilt from
    Layer 1); `newest`: the newest supported, not final, V state the hub can prove (its setup, a state
    offered to it, or one rebuilt from Layer 1); `final`: a final V state both participants signed, if the
    hub holds one; `leaving_since`: when the hub asked to leave V (None: it did not); `last_activity`: when
    V's record last changed; `patience`: how long V's participants may stay silent once the hub wants out.

    The hub wants out of V once it asked to, or once a ledger holding one of V's guarantees is closing on
    Layer 1 (the guarantee is then locked until V is final). It has no move of its own in V: it only
    checkpoints a challenge older than a state it can prove, concludes with a final state both signed, and
    challenges V when V's participants have been silent on Layer 1 for `patience` seconds since the later of
    the moment it wanted out and V's last record. Once V and a ledger holding its guarantee are both final,
    it claims that guarantee by V's final record. A V record newer than anything the hub can prove, when it
    must challenge, raises RecordUnavailable: the hub cannot leave V alone, and must be told so."""
    stakes = [i for i, ledger in enumerate(ledgers) if ledger.at_stake]
    if not stakes:
        return []
    if finalizes_at and finalizes_at <= now:
        if final_record is None:
            raise e.RecordUnavailable(f"V is final at {finalizes_at}, and its final record could not be rebuilt")
        return [SubmitClaim(i, index, final_record) for i in stakes
                if ledgers[i].status == "final" and (index := ledgers[i].index) is not None]
    if finalizes_at:  # challenged
        if final is not None:
            return [SubmitConclude(final)]
        if newest is not None and newest.turn_num > turn_num_record:
            return [SubmitCheckpoint(newest)]
        return []
    wanted = [t for t in (leaving_since, *(ledgers[i].closing_since for i in stakes)) if t is not None]
    if not wanted:
        return []
    if final is not None:
        return [SubmitConclude(final)]
    if now - max(min(wanted), last_activity or 0) < patience:
        return []
    if newest is None or newest.turn_num < turn_num_record:
        raise e.RecordUnavailable(f"V's record is at turn {turn_num_record}, and the newest V state the hub can "
                                  f"prove is at turn {None if newest is None else newest.turn_num}: it cannot "
                                  "challenge V")
    return [SubmitChallenge(newest)]
