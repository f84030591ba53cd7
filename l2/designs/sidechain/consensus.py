"""Tendermint's consensus rules as a pure state machine: `handle(state, event) -> (state, actions)`.

The rules are those of Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus" (Algorithm 1),
with stake in place of counts: "2f + 1" is more than 2/3 of the stake, "f + 1" more than 1/3. One height
goes: a proposer chosen by stake in rotation proposes a block; every validator prevotes it (or nil: an
invalid block, a timeout, a lock on another block); on prevotes from more than 2/3 of the stake for the
block it locks on it and precommits it; precommits from more than 2/3 for a block decide it. A round that
fails times out into the next round and the next proposer. Locks keep two rounds from deciding two
blocks: a validator that precommitted a block prevotes only that block until a later round shows more than
2/3 prevoting another.

Nothing here performs I/O, reads a clock, signs or executes: the node (`node.py`) turns actions into
messages, timers, signatures and commits, and feeds back what comes of them (its own signed votes arrive
as `VoteReceived` like anyone's; a proposal arrives with the node's verdict on whether its block executes
to the hash it claims). The tests drive the same function with simulated networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

from l2.designs.sidechain.messages import NIL, PRECOMMIT, PREVOTE, Proposal, Vote

WAIT, PROPOSE, PREVOTE_STEP, PRECOMMIT_STEP = "wait", "propose", "prevote", "precommit"
MAX_ROUNDS_AHEAD = 10_000  # a vote further ahead is dropped: one validator cannot make us store unbounded rounds
_SCHEDULE_UNITS = 1_000  # stakes scaled to at most this many proposer slots per rotation


@dataclass(frozen=True)
class Validator:
    address: str  # checksummed
    power: int  # stake, in wei


@dataclass(frozen=True)
class ValidatorSet:
    validators: tuple[Validator, ...]

    def __post_init__(self):
        addresses = [v.address for v in self.validators]
        if not addresses:
            raise ValueError("a validator set needs at least one validator")
        if len(set(addresses)) != len(addresses):
            raise ValueError("a validator appears twice in the set")
        if any(v.power <= 0 for v in self.validators):
            raise ValueError("every validator needs a positive stake")
        # Sorted by address: every node derives the same proposer schedule whatever order it was given.
        object.__setattr__(self, "validators", tuple(sorted(self.validators, key=lambda v: v.address.lower())))

    @cached_property
    def total(self) -> int:
        return sum(v.power for v in self.validators)

    @cached_property
    def _powers(self) -> dict[str, int]:
        return {v.address: v.power for v in self.validators}

    def power_of(self, address: str) -> int:
        return self._powers.get(address, 0)

    def is_quorum(self, power: int) -> bool:
        """More than 2/3 of the stake (Tendermint's 2f + 1)."""
        return 3 * power > 2 * self.total

    def is_third(self, power: int) -> bool:
        """More than 1/3 of the stake (f + 1: at least one honest validator among them)."""
        return 3 * power > self.total

    @cached_property
    def schedule(self) -> tuple[str, ...]:
        """One rotation of proposers, each validator as many times as its share of the stake (Tendermint's
        proposer-priority algorithm: every slot each gains its stake, the highest proposes and pays the total)."""
        g = math.gcd(*(v.power for v in self.validators))
        units = [v.power // g for v in self.validators]
        if sum(units) > _SCHEDULE_UNITS:  # huge stakes: proportional slots, every validator at least one
            units = [max(1, round(v.power * _SCHEDULE_UNITS / self.total)) for v in self.validators]
        total = sum(units)
        priority = [0] * len(units)
        slots = []
        for _ in range(total):
            priority = [p + u for p, u in zip(priority, units, strict=True)]
            best = max(range(len(units)), key=lambda i: (priority[i], -i))  # ties: the lower address
            priority[best] -= total
            slots.append(self.validators[best].address)
        return tuple(slots)

    def proposer(self, height: int, round_: int) -> str:
        return self.schedule[(height + round_) % len(self.schedule)]


@dataclass(frozen=True)
class Timing:
    """Seconds. Each round waits `delta` longer than the one before, up to `max_timeout`, so a slow
    network eventually gets a round long enough (Tendermint's partial synchrony)."""

    propose: float = 1.0
    prevote: float = 0.5
    precommit: float = 0.5
    delta: float = 0.5
    block_interval: float = 1.0  # after a commit, before the next height's first round (timeout_commit)
    max_timeout: float = 30.0

    def timeout(self, step: str, round_: int) -> float:
        if step == WAIT:
            return self.block_interval
        base = {PROPOSE: self.propose, PREVOTE_STEP: self.prevote, PRECOMMIT_STEP: self.precommit}[step]
        return min(base + round_ * self.delta, self.max_timeout)


# --- inputs ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProposalReceived:
    proposal: Proposal
    valid: bool  # the node executed the block: on our head, with a sane timestamp, to the hash it claims


@dataclass(frozen=True)
class VoteReceived:
    vote: Vote  # signature already checked and signer recovered (messages.decode_vote, or our own)


@dataclass(frozen=True)
class TimeoutFired:
    height: int
    round: int
    step: str


# --- actions -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildProposal:
    """We propose: the block `block_hash` again (a locked or valid one from an earlier round) or, if None, a
    new one from the mempool. The node signs it, broadcasts it and feeds it back."""

    height: int
    round: int
    valid_round: int
    block_hash: bytes | None


@dataclass(frozen=True)
class CastVote:
    height: int
    round: int
    vote_type: int
    block_hash: bytes  # NIL for nil


@dataclass(frozen=True)
class ScheduleTimeout:
    height: int
    round: int
    step: str
    seconds: float


@dataclass(frozen=True)
class Commit:
    """Block `block_hash` is decided at `height`: store it with `precommits` (more than 2/3 of the stake)."""

    height: int
    round: int
    block_hash: bytes
    precommits: tuple[Vote, ...]


@dataclass(frozen=True)
class Equivocation:
    """Two different signed votes by one validator for the same height, round and type: slashable evidence."""

    first: Vote
    second: Vote


@dataclass(frozen=True)
class Ignored:
    reason: str


Action = BuildProposal | CastVote | ScheduleTimeout | Commit | Equivocation | Ignored
Event = ProposalReceived | VoteReceived | TimeoutFired


# --- the state of one height -------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    height: int
    round: int = 0
    step: str = WAIT
    locked_round: int = -1
    locked_hash: bytes | None = None
    valid_round: int = -1
    valid_hash: bytes | None = None
    proposals: tuple[Proposal, ...] = ()  # at most one per round, from that round's proposer
    verdicts: tuple[tuple[bytes, bool], ...] = ()  # block hash -> does it execute to that hash
    votes: tuple[Vote, ...] = ()  # at most one per (signer, round, type)
    fired: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # one-time rules already run
    decided: bool = False

    def proposal(self, round_: int) -> Proposal | None:
        return next((p for p in self.proposals if p.round == round_), None)

    def verdict(self, block_hash: bytes) -> bool | None:
        return next((v for h, v in self.verdicts if h == block_hash), None)

    def vote_of(self, signer: str, round_: int, vote_type: int) -> Vote | None:
        return next((v for v in self.votes if v.signer == signer and v.round == round_ and v.vote_type == vote_type),
                    None)


@dataclass(frozen=True)
class Context:
    """What does not change within a height: the validator set, who we are, the timeouts."""

    validators: ValidatorSet
    me: str  # our validator address ("" for an observer that never proposes or votes)
    timing: Timing = Timing()


def start_height(ctx: Context, height: int, *, locked_round: int = -1, locked_hash: bytes | None = None,
                 wait: bool = True) -> tuple[State, list[Action]]:
    """A new height: wait `block_interval` (or not) and then start round 0. A validator restarted mid-height
    passes the lock it recorded (its own non-nil precommit), so a crash never unlocks it."""
    state = State(height, locked_round=locked_round, locked_hash=locked_hash, valid_round=locked_round,
                  valid_hash=locked_hash)
    if wait:
        return state, [ScheduleTimeout(height, 0, WAIT, ctx.timing.timeout(WAIT, 0))]
    return _start_round(ctx, state, 0)


def handle(ctx: Context, state: State, event: Event) -> tuple[State, list[Action]]:
    """Take one message or timeout; return the new state and what to do."""
    if isinstance(event, VoteReceived):
        state, actions = _add_vote(ctx, state, event.vote)
    elif isinstance(event, ProposalReceived):
        state, actions = _add_proposal(ctx, state, event.proposal, event.valid)
    elif isinstance(event, TimeoutFired):
        state, actions = _on_timeout(ctx, state, event)
    else:  # pragma: no cover - the type says it cannot happen
        raise TypeError(f"not a consensus event: {event!r}")
    state, more = _advance(ctx, state)
    return state, actions + more


def accepts_proposal(ctx: Context, state: State, height: int, round_: int, signer: str) -> str | None:
    """Why a proposal would be ignored before the node spends an execution on its block (None: it would not)."""
    if height != state.height:
        return f"proposal for height {height}, we are at {state.height}"
    if signer != ctx.validators.proposer(height, round_):
        return f"proposal for {height}/{round_} signed by {signer}, not the round's proposer"
    if state.proposal(round_) is not None:
        return f"a proposal for {height}/{round_} is already in"
    if round_ > state.round + MAX_ROUNDS_AHEAD:
        return f"proposal for round {round_}, too far ahead of {state.round}"
    return None


# --- adding messages ---------------------------------------------------------------------------------

def _add_vote(ctx: Context, state: State, vote: Vote) -> tuple[State, list[Action]]:
    if vote.height != state.height:
        return state, [Ignored(f"{vote}: we are at height {state.height}")]
    if ctx.validators.power_of(vote.signer) == 0:
        return state, [Ignored(f"{vote}: the signer is not a validator")]
    if vote.round > state.round + MAX_ROUNDS_AHEAD:
        return state, [Ignored(f"{vote}: round too far ahead of {state.round}")]
    earlier = state.vote_of(vote.signer, vote.round, vote.vote_type)
    if earlier is not None:
        if earlier.block_hash == vote.block_hash:
            return state, []  # a re-broadcast
        return state, [Equivocation(earlier, vote)]
    return replace(state, votes=state.votes + (vote,)), []


def _add_proposal(ctx: Context, state: State, proposal: Proposal, valid: bool) -> tuple[State, list[Action]]:
    reason = accepts_proposal(ctx, state, proposal.height, proposal.round, proposal.signer)
    if reason is not None:
        return state, [Ignored(reason)]
    verdicts = state.verdicts
    if state.verdict(proposal.block.hash) is None:
        verdicts = verdicts + ((proposal.block.hash, valid),)
    return replace(state, proposals=state.proposals + (proposal,), verdicts=verdicts), []


def _on_timeout(ctx: Context, state: State, event: TimeoutFired) -> tuple[State, list[Action]]:
    if event.height != state.height or state.decided:
        return state, []
    if event.step == WAIT and state.step == WAIT:
        return _start_round(ctx, state, 0)
    if event.round != state.round:
        return state, []
    if event.step == PROPOSE and state.step == PROPOSE:
        return replace(state, step=PREVOTE_STEP), [CastVote(state.height, state.round, PREVOTE, NIL)]
    if event.step == PREVOTE_STEP and state.step == PREVOTE_STEP:
        return replace(state, step=PRECOMMIT_STEP), [CastVote(state.height, state.round, PRECOMMIT, NIL)]
    if event.step == PRECOMMIT_STEP:
        return _start_round(ctx, state, state.round + 1)
    return state, []


def _start_round(ctx: Context, state: State, round_: int) -> tuple[State, list[Action]]:
    state = replace(state, round=round_, step=PROPOSE)
    if ctx.me and ctx.validators.proposer(state.height, round_) == ctx.me:
        return state, [BuildProposal(state.height, round_, state.valid_round, state.valid_hash)]
    return state, [ScheduleTimeout(state.height, round_, PROPOSE, ctx.timing.timeout(PROPOSE, round_))]


# --- tallies -----------------------------------------------------------------------------------------

def _power(ctx: Context, state: State, round_: int, vote_type: int, block_hash: bytes | None = None) -> int:
    """Stake behind votes of one round and type (for one block, or for anything when `block_hash` is None)."""
    return sum(ctx.validators.power_of(v.signer) for v in state.votes
               if v.round == round_ and v.vote_type == vote_type and (block_hash is None or v.block_hash == block_hash))


def _round_power(ctx: Context, state: State, round_: int) -> int:
    """Stake of the validators that sent anything for `round_`."""
    signers = {v.signer for v in state.votes if v.round == round_}
    proposal = state.proposal(round_)
    if proposal is not None:
        signers.add(proposal.signer)
    return sum(ctx.validators.power_of(s) for s in signers)


# --- the upon-rules, fired one at a time until none applies ------------------------------------------

def _advance(ctx: Context, state: State) -> tuple[State, list[Action]]:
    actions: list[Action] = []
    for _ in range(64):  # each rule changes the step, the round or a fired flag: a few firings at most
        new_state, fired = _fire_one(ctx, state)
        if new_state is state:
            break
        state = new_state
        actions += fired
    return state, actions


def _fire_one(ctx: Context, s: State) -> tuple[State, list[Action]]:
    vs = ctx.validators
    if s.decided:
        return s, []
    # A block with precommits from more than 2/3 in any round is decided, if we know it executes correctly.
    for round_, block_hash in sorted({(v.round, v.block_hash) for v in s.votes if v.vote_type == PRECOMMIT}):
        if block_hash != NIL and s.verdict(block_hash) and vs.is_quorum(_power(ctx, s, round_, PRECOMMIT, block_hash)):
            precommits = tuple(v for v in s.votes
                               if v.round == round_ and v.vote_type == PRECOMMIT and v.block_hash == block_hash)
            return replace(s, decided=True), [Commit(s.height, round_, block_hash, precommits)]
    # More than 1/3 of the stake is in a later round: at least one honest validator is there; follow.
    later = sorted({v.round for v in s.votes if v.round > s.round}
                   | {p.round for p in s.proposals if p.round > s.round})
    for round_ in reversed(later):
        if vs.is_third(_round_power(ctx, s, round_)):
            return _start_round(ctx, s, round_)
    if s.step == WAIT:
        return s, []
    r = s.round
    proposal = s.proposal(r)
    valid = proposal is not None and bool(s.verdict(proposal.block.hash))
    if s.step == PROPOSE and proposal is not None:
        h, vr = proposal.block.hash, proposal.valid_round
        if vr == -1:
            ok = valid and (s.locked_round == -1 or s.locked_hash == h)
            return replace(s, step=PREVOTE_STEP), [CastVote(s.height, r, PREVOTE, h if ok else NIL)]
        if 0 <= vr < r and vs.is_quorum(_power(ctx, s, vr, PREVOTE, h)):
            ok = valid and (s.locked_round <= vr or s.locked_hash == h)
            return replace(s, step=PREVOTE_STEP), [CastVote(s.height, r, PREVOTE, h if ok else NIL)]
    if s.step == PREVOTE_STEP and ("prevote_timer", r) not in s.fired and vs.is_quorum(_power(ctx, s, r, PREVOTE)):
        return replace(s, fired=s.fired | {("prevote_timer", r)}), [
            ScheduleTimeout(s.height, r, PREVOTE_STEP, ctx.timing.timeout(PREVOTE_STEP, r))]
    if (s.step in (PREVOTE_STEP, PRECOMMIT_STEP) and ("polka", r) not in s.fired and valid and proposal is not None
            and vs.is_quorum(_power(ctx, s, r, PREVOTE, proposal.block.hash))):
        h = proposal.block.hash
        s = replace(s, fired=s.fired | {("polka", r)}, valid_round=r, valid_hash=h)
        if s.step == PREVOTE_STEP:
            return replace(s, step=PRECOMMIT_STEP, locked_round=r, locked_hash=h), [
                CastVote(s.height, r, PRECOMMIT, h)]
        return s, []
    if s.step == PREVOTE_STEP and vs.is_quorum(_power(ctx, s, r, PREVOTE, NIL)):
        return replace(s, step=PRECOMMIT_STEP), [CastVote(s.height, r, PRECOMMIT, NIL)]
    if ("precommit_timer", r) not in s.fired and vs.is_quorum(_power(ctx, s, r, PRECOMMIT)):
        return replace(s, fired=s.fired | {("precommit_timer", r)}), [
            ScheduleTimeout(s.height, r, PRECOMMIT_STEP, ctx.timing.timeout(PRECOMMIT_STEP, r))]
    return s, []


def commit_power(validators: ValidatorSet, precommits: tuple[Vote, ...] | list[Vote], height: int,
                 block_hash: bytes) -> int:
    """Stake behind a stored commit: distinct validators' precommits for `block_hash` at `height`, one round.
    (Signatures are checked by whoever decoded the votes; this counts.)"""
    rounds = {v.round for v in precommits}
    if len(rounds) != 1:
        return 0
    signers = {v.signer for v in precommits
               if v.height == height and v.vote_type == PRECOMMIT and v.block_hash == block_hash}
    return sum(validators.power_of(s) for s in signers)
