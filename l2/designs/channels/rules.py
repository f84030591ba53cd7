"""The rules of the payment channel: pure functions over immutable values.

Parties, the watcher, the tests and the bench all use these; nothing here
touches the chain, the disk or the clock. Balances come from running totals,
exactly as `ChannelRegistry.sol` computes them:

    balance_a = deposit_a - withdrawn_a - transferred_a + transferred_b

so deposits and withdrawals never need a new off-chain state, and a payment is
one running total going up by the amount, with the nonce going up by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from eth_utils import is_checksum_address, to_canonical_address, to_checksum_address

from l2.core.crypto import keccak
from l2.designs.channels.errors import (
    BadFieldType,
    ChannelBalanceTooLow,
    ConcurrentUpdate,
    CrossingRefused,
    FieldOutOfRange,
    InvalidAmount,
    LocksNotSupported,
    MissingField,
    NonceNotNext,
    Overspend,
    TotalsNotConserved,
    WrongChannel,
    WrongMessageType,
)
from l2.errors import InputError

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_ROOT = b"\x00" * 32
A, B = "A", "B"
# In a crossing (both sides propose the same nonce at once) this side's proposal wins, off-chain
# and on Layer 1 (`ChannelRegistry.updateState`). Fixed by position, so both sides agree without talking.
CROSSING_WINNER = A
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1


# ------------------------------------------------------------------ decoding messages
# Every message from the partner is decoded field by field before anything is checked, signed
# or stored: the exact JSON type, the Solidity type's range, the byte length. Anything else
# raises the MalformedMessage subclass naming the field, never a Python internal error, and
# nothing reaches `to_bytes`, the digest or web3 that could fail there later (half-written).

_DECIMAL = re.compile(r"-?[0-9]+")
_HEX = re.compile(r"0x[0-9a-fA-F]*")


def _shown(value) -> str:
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({type(value).__name__})"


class Fields:
    """One message object being decoded: each accessor returns a field's value in its Python type
    or raises the MalformedMessage subclass that names it (`prefix` + name, e.g. "proof.nonce")."""

    __slots__ = ("kind", "data", "prefix")

    def __init__(self, kind: str, data, prefix: str = ""):
        if type(data) is not dict:
            raise BadFieldType(kind, prefix.rstrip(".") or "message", f"must be a JSON object, got {_shown(data)}")
        self.kind, self.data, self.prefix = kind, data, prefix

    def raw(self, name: str):
        try:
            return self.data[name]
        except KeyError:
            raise MissingField(self.kind, self.prefix + name, "is missing") from None

    def expect_type(self, expected: str) -> None:
        got = self.raw("type")
        if got != expected:
            raise WrongMessageType(self.kind, "type", f"must be {expected!r}, got {_shown(got)}")

    def uint(self, name: str, bits: int) -> int:
        """An integer (JSON number, or decimal string for values past 2**53) in [0, 2**bits)."""
        value = self.raw(name)
        if type(value) is int:  # not bool: True is an int to Python, never to us
            number = value
        elif type(value) is str and _DECIMAL.fullmatch(value):
            if len(value.lstrip("-")) > 78:  # more digits than 2**256 has: out of range, not parsed
                raise FieldOutOfRange(self.kind, self.prefix + name,
                                      f"must be below 2**{bits}, got {len(value)} digits")
            number = int(value)
        else:
            raise BadFieldType(self.kind, self.prefix + name,
                               f"must be an integer or a decimal string, got {_shown(value)}")
        if not 0 <= number < 1 << bits:
            raise FieldOutOfRange(self.kind, self.prefix + name, f"must be in [0, 2**{bits}), got {number}")
        return number

    def hex_bytes(self, name: str, length: int | None = None) -> bytes:
        """0x-prefixed hex: exactly `length` bytes if given."""
        value = self.raw(name)
        if type(value) is not str or not _HEX.fullmatch(value) or len(value) % 2:
            raise BadFieldType(self.kind, self.prefix + name, f"must be 0x-prefixed hex bytes, got {_shown(value)}")
        if length is not None and len(value) != 2 + 2 * length:
            raise FieldOutOfRange(self.kind, self.prefix + name,
                                  f"must be {length} bytes, got {(len(value) - 2) // 2}")
        return bytes.fromhex(value[2:])

    def address(self, name: str) -> str:
        """A 20-byte address; mixed case must be a valid EIP-55 checksum (it catches typos)."""
        raw = self.hex_bytes(name, 20)
        value = self.data[name]
        if value[2:] not in (value[2:].lower(), value[2:].upper()) and not is_checksum_address(value):
            raise BadFieldType(self.kind, self.prefix + name, f"has a wrong EIP-55 checksum: {value}")
        return to_checksum_address(raw)


@dataclass(frozen=True)
class ChannelParams:
    """What identifies a channel on Layer 1 and never changes (`ChannelRegistry.ChannelParams`)."""

    participant_a: str
    participant_b: str
    token: str  # ZERO_ADDRESS = ETH
    challenge_period: int
    nonce: int

    @property
    def channel_id(self) -> bytes:
        """keccak256(abi.encode(params)), as the contract computes it."""
        cid = self.__dict__.get("_channel_id")
        if cid is None:
            cid = keccak(
                to_canonical_address(self.participant_a).rjust(32, b"\0")
                + to_canonical_address(self.participant_b).rjust(32, b"\0")
                + to_canonical_address(self.token).rjust(32, b"\0")
                + self.challenge_period.to_bytes(32, "big")
                + self.nonce.to_bytes(32, "big")
            )
            object.__setattr__(self, "_channel_id", cid)
        return cid

    def as_tuple(self) -> tuple:
        """The argument web3 expects for a `ChannelParams calldata` parameter."""
        return (self.participant_a, self.participant_b, self.token, self.challenge_period, self.nonce)

    def side_of(self, address: str) -> str:
        address = to_checksum_address(address)
        if address == self.participant_a:
            return A
        if address == self.participant_b:
            return B
        raise InputError(f"{address} is not a participant of channel 0x{self.channel_id.hex()}")

    def address_of(self, side: str) -> str:
        return self.participant_a if side == A else self.participant_b

    def to_json(self) -> dict:
        return {
            "participantA": self.participant_a,
            "participantB": self.participant_b,
            "token": self.token,
            "challengePeriod": self.challenge_period,
            "nonce": self.nonce,
        }

    @classmethod
    def from_json(cls, data: dict) -> ChannelParams:
        return cls(
            to_checksum_address(data["participantA"]),
            to_checksum_address(data["participantB"]),
            to_checksum_address(data["token"]),
            int(data["challengePeriod"]),
            int(data["nonce"]),
        )


@dataclass(frozen=True)
class BalanceProof:
    """The off-chain state both participants sign (`ChannelRegistry.BalanceProof`)."""

    channel_id: bytes
    nonce: int
    transferred_a: int = 0  # running total A has paid B
    transferred_b: int = 0  # running total B has paid A
    locked_a: int = 0  # reserved for hash-locked transfers (multi-hop), always 0 for now
    locked_b: int = 0
    locks_root: bytes = ZERO_ROOT

    def transferred(self, side: str) -> int:
        return self.transferred_a if side == A else self.transferred_b

    def as_tuple(self) -> tuple:
        return (
            self.channel_id,
            self.nonce,
            self.transferred_a,
            self.transferred_b,
            self.locked_a,
            self.locked_b,
            self.locks_root,
        )

    def to_json(self) -> dict:
        return {
            "channelId": "0x" + self.channel_id.hex(),
            "nonce": self.nonce,
            "transferredA": str(self.transferred_a),
            "transferredB": str(self.transferred_b),
            "lockedA": str(self.locked_a),
            "lockedB": str(self.locked_b),
            "locksRoot": "0x" + self.locks_root.hex(),
        }

    @classmethod
    def from_json(cls, data, *, kind: str = "BalanceProof", prefix: str = "") -> BalanceProof:
        """Decode `to_json`'s output; MalformedMessage naming the field for anything else."""
        f = Fields(kind, data, prefix)
        return cls(
            f.hex_bytes("channelId", 32),
            f.uint("nonce", 64),
            f.uint("transferredA", 256),
            f.uint("transferredB", 256),
            f.uint("lockedA", 256),
            f.uint("lockedB", 256),
            f.hex_bytes("locksRoot", 32),
        )


@dataclass(frozen=True)
class Funding:
    """Deposits and withdrawals per side: as Layer 1 holds them, or with agreed withdrawals
    still in flight counted too (`effective_funding`), which is what payments may spend."""

    deposit_a: int = 0
    deposit_b: int = 0
    withdrawn_a: int = 0
    withdrawn_b: int = 0

    @property
    def total(self) -> int:
        return self.deposit_a + self.deposit_b - self.withdrawn_a - self.withdrawn_b

    def deposit(self, side: str) -> int:
        return self.deposit_a if side == A else self.deposit_b

    def withdrawn(self, side: str) -> int:
        return self.withdrawn_a if side == A else self.withdrawn_b


    def with_withdrawn(self, side: str, total_withdraw: int) -> Funding:
        return replace(self, **{"withdrawn_a" if side == A else "withdrawn_b": total_withdraw})


@dataclass(frozen=True)
class AgreedWithdraw:
    """A Withdraw both parties signed: it may be paid out on Layer 1 until `expiry` (inclusive)."""

    side: str
    total: int  # the side's new running total of withdrawals
    expiry: int  # last block timestamp at which `ChannelRegistry.withdraw` accepts it


@dataclass(frozen=True)
class Withdraw:
    """A withdrawal without closing, as both parties sign it (`ChannelRegistry` `Withdraw` typed data)."""

    channel_id: bytes
    participant: str  # who is paid
    total_withdraw: int  # the participant's new running total of withdrawals
    expiry: int  # last block timestamp at which `ChannelRegistry.withdraw` accepts it

    def to_json(self) -> dict:
        return {"channelId": "0x" + self.channel_id.hex(), "participant": self.participant,
                "totalWithdraw": str(self.total_withdraw), "expiry": self.expiry}

    @classmethod
    def from_json(cls, data, *, kind: str = "Withdraw") -> Withdraw:
        f = Fields(kind, data)
        return cls(f.hex_bytes("channelId", 32), f.address("participant"), f.uint("totalWithdraw", 256),
                   f.uint("expiry", 64))


@dataclass(frozen=True)
class CooperativeClose:
    """Final balances both parties sign (`ChannelRegistry.CooperativeClose`).

    Bound to the Layer-1 running totals they were computed on and valid until `expiry`
    (inclusive): the registry rejects it once any deposit or withdrawal happened (the totals
    only grow, so it can never become valid again) or the expiry has passed. Without both, a
    close signed but not submitted could be cashed much later at stale balances.
    """

    channel_id: bytes
    balance_a: int
    balance_b: int
    funding: Funding  # Layer 1's totals (not counting withdrawals in flight)
    expiry: int  # last block timestamp at which `ChannelRegistry.cooperativeClose` accepts it

    def as_tuple(self) -> tuple:
        """The argument web3 expects for a `CooperativeClose calldata` parameter."""
        f = self.funding
        return (self.balance_a, self.balance_b, f.deposit_a, f.deposit_b, f.withdrawn_a, f.withdrawn_b, self.expiry)

    def typed_values(self) -> dict:
        """The EIP-712 members after `channelId` and `messageType`, by their Solidity names."""
        return dict(zip(("balanceA", "balanceB", "depositA", "depositB", "withdrawnA", "withdrawnB", "expiry"),
                        self.as_tuple(), strict=True))

    def to_json(self) -> dict:
        values = {k: str(v) for k, v in self.typed_values().items()}
        return {"channelId": "0x" + self.channel_id.hex(), **values, "expiry": self.expiry}

    @classmethod
    def from_json(cls, data, *, kind: str = "CooperativeClose") -> CooperativeClose:
        """Decode `to_json`'s output (extra keys, e.g. a signature, are ignored); MalformedMessage naming the field."""
        f = Fields(kind, data)
        return cls(
            f.hex_bytes("channelId", 32),
            f.uint("balanceA", 256),
            f.uint("balanceB", 256),
            Funding(f.uint("depositA", 256), f.uint("depositB", 256), f.uint("withdrawnA", 256),
                    f.uint("withdrawnB", 256)),
            f.uint("expiry", 64),
        )

    def live(self, onchain: Funding, now: int) -> bool:
        """Whether Layer 1 may still accept it, given its totals read at or after `now`."""
        return now <= self.expiry and onchain == self.funding


def withdrawals_in_flight(onchain: Funding, agreed, now: int | None) -> tuple[AgreedWithdraw, ...]:
    """The agreed withdrawals Layer 1 may still pay out.

    One whose total Layer 1 has reached is paid (counted through `onchain`, so not
    twice); one whose expiry is before `now`, the latest block's timestamp, can never
    be paid (every later block is later still). `now=None` (no clock, e.g. an offline
    party) keeps every unpaid one: counting money as gone that is not is the safe error.
    `onchain` must have been read at or after `now`, or a withdrawal paid in between
    would be dropped as expired.
    """
    return tuple(
        w for w in agreed if w.total > onchain.withdrawn(w.side) and (now is None or now <= w.expiry)
    )


def effective_funding(onchain: Funding, in_flight) -> Funding:
    """What the channel can still pay out: Layer 1's totals, less the withdrawals in flight.

    Payments must not spend money a withdrawal may still take out; a withdrawal is a
    running total, so only the largest one per side counts (and never on top of Layer 1's).
    """
    funding = onchain
    for w in in_flight:
        if w.total > funding.withdrawn(w.side):
            funding = funding.with_withdrawn(w.side, w.total)
    return funding


def other(side: str) -> str:
    return B if side == A else A


def balance(funding: Funding, proof: BalanceProof, side: str) -> int:
    """What `side` owns under `proof` (may be negative only for a malformed state)."""
    return (
        funding.deposit(side)
        - funding.withdrawn(side)
        - proof.transferred(side)
        + proof.transferred(other(side))
    )


def settlement(funding: Funding, proof: BalanceProof) -> tuple[int, int]:
    """(payout A, payout B) the contract pays for `proof`: A's balance clamped to [0, total]."""
    total = funding.total
    payout_a = min(max(balance(funding, proof, A), 0), total)
    return payout_a, total - payout_a


def answerable(onchain: Funding, closing_nonce: int, closing_balance_a: int, proof: BalanceProof) -> bool:
    """Whether `ChannelRegistry.updateState` accepts `proof` over the state a channel is closing on
    (signatures aside): a higher nonce, or the same nonce and a lower balance for A.

    The second case is a crossing: both sides proposed this nonce at once, so B, the loser, has
    signed two states with it, its own refused proposal and its acknowledgement of A's. A could
    close with the refused one; B answers with A's, which lowers A's balance (A's proposal pays
    B, B's refused one pays A). Honest A signs one state per nonce, so nothing else of A's can
    be submitted at a nonce A closed on; and B's refused proposal, raising A's balance, can never
    replace A's.
    """
    if proof.nonce != closing_nonce:
        return proof.nonce > closing_nonce
    return settlement(onchain, proof)[0] < closing_balance_a


def worth_answering(onchain: Funding, closing_nonce: int, closing_balance_a: int, best: BalanceProof,
                    side: str) -> bool:
    """Whether `side` should answer a unilateral close by submitting `best` (its newest co-signed state).

    Only if Layer 1 accepts it (`answerable`) and would then pay `side` more than under the state
    it is closing on. A newer nonce is not enough: with running totals both ways, a newer state may
    pay us less (we paid since), and answering would cost us the difference plus gas. This holds
    whoever closed: a partner's stale close that favours us is left alone, and our own close on an
    old state that shortchanges us is corrected.
    """
    if not answerable(onchain, closing_nonce, closing_balance_a, best):
        return False
    payout_a, payout_b = settlement(onchain, best)
    ours_if_answered = payout_a if side == A else payout_b
    ours_as_closing = closing_balance_a if side == A else onchain.total - closing_balance_a
    return ours_if_answered > ours_as_closing


@dataclass(frozen=True)
class SubmitUpdate:
    """Side effect: submit `updateState` with the co-signed state of this nonce (the caller holds it)."""

    nonce: int


@dataclass(frozen=True)
class SubmitSettle:
    """Side effect: submit `settle`; the challenge period is over."""


def respond_to_close(onchain: Funding, closing_nonce: int, closing_balance_a: int, settle_at: int, now: int,
                     best: BalanceProof, side: str, settle: bool = True) -> list:
    """What to do about a channel that is closing, for whoever defends `side` with `best` (the newest
    state it holds signed by both): the transactions to submit, not submitted. A party's watcher, a
    key-less watchtower and the tests all act on the same decision.

    Answer while the period lasts if Layer 1 would pay `side` more with `best` (`worth_answering`); a
    second before the end is too late to count on. Once the period is over, settle.
    """
    if now < settle_at - 1 and worth_answering(onchain, closing_nonce, closing_balance_a, best, side):
        return [SubmitUpdate(best.nonce)]
    if now >= settle_at and settle:
        return [SubmitSettle()]
    return []


def initial_proof(params: ChannelParams) -> BalanceProof:
    return BalanceProof(params.channel_id, 0)


def next_payment(funding: Funding, proof: BalanceProof, payer: str, amount: int) -> BalanceProof:
    """The state after `payer` pays `amount`; InputError if the payer cannot afford it."""
    if type(amount) is not int or not 0 < amount <= UINT256_MAX:  # bool is an int subclass: not an amount
        raise InvalidAmount(f"payment amount must be a positive integer below 2**256, got {amount!r}")
    available = balance(funding, proof, payer)
    if amount > available:
        raise ChannelBalanceTooLow(f"cannot pay {amount}: only {available} available in the channel")
    if payer == A:
        return BalanceProof(proof.channel_id, proof.nonce + 1, proof.transferred_a + amount, proof.transferred_b,
                            proof.locked_a, proof.locked_b, proof.locks_root)
    return BalanceProof(proof.channel_id, proof.nonce + 1, proof.transferred_a, proof.transferred_b + amount,
                        proof.locked_a, proof.locked_b, proof.locks_root)


def validate_update(funding: Funding, prev: BalanceProof, update: BalanceProof, payer: str) -> int:
    """Check that `update` is a valid payment by `payer` following `prev`; return the amount.

    Raises a ProtocolViolation subclass naming the broken rule: wrong channel,
    nonce not exactly prev + 1 (replayed, reordered or skipped), receiver charged
    or totals changed otherwise than by one payment, locks (not supported yet),
    overspend. Signatures are checked by the caller (they need the domain).
    """
    if update.channel_id != prev.channel_id:
        raise WrongChannel(f"update is for channel 0x{update.channel_id.hex()}, not 0x{prev.channel_id.hex()}")
    if update.nonce != prev.nonce + 1:
        raise NonceNotNext(f"update has nonce {update.nonce}, expected {prev.nonce + 1} (replayed or reordered?)")
    receiver = other(payer)
    if update.transferred(receiver) != prev.transferred(receiver):
        raise TotalsNotConserved(
            f"update changes the receiver's running total from {prev.transferred(receiver)} "
            f"to {update.transferred(receiver)}"
        )
    amount = update.transferred(payer) - prev.transferred(payer)
    if amount <= 0:
        raise TotalsNotConserved(f"update does not pay anything (payer's running total changes by {amount})")
    if update.locked_a or update.locked_b or update.locks_root != ZERO_ROOT:
        raise LocksNotSupported("hash-locked transfers are not supported yet: locked amounts must be 0")
    available = balance(funding, prev, payer)
    if amount > available:
        raise Overspend(f"payer sends {amount} but has only {available} in the channel")
    return amount


def check_not_concurrent(pending: BalanceProof | None, incoming: BalanceProof, side: str) -> bool:
    """Whether `incoming` (the partner's update) races our own unacknowledged `pending` one.

    - It follows `pending` (nonce + 1): the partner counter-signed ours and paid again before its
      acknowledgement reached us. ConcurrentUpdate: deliver the acknowledgement first.
    - It has `pending`'s nonce: a crossing, both proposed at once. Resolved without a round trip by
      a rule both sides know: A's proposal wins (`CROSSING_WINNER`). A refuses B's
      (CrossingRefused) and waits for B's acknowledgement of its own. B returns True: it must
      acknowledge A's, drop its own and propose that payment again on top (`repropose`), so no
      payment is lost and the channel goes on. B has then signed two states with this nonce; the
      registry lets A's, the lower balance for A, replace B's refused one if A ever closes with it
      (`answerable`), so the refused proposal is worth nothing more to A on Layer 1.
    - Anything else is left to `validate_update` (a replay or a gap, not a race): False.
    """
    if pending is None:
        return False
    if incoming.nonce == pending.nonce + 1:
        raise ConcurrentUpdate(
            f"the partner's update {incoming.nonce} follows our update {pending.nonce}, whose acknowledgement "
            f"has not arrived yet: nothing changed; deliver that acknowledgement, then this update again"
        )
    if incoming.nonce != pending.nonce:
        return False
    if side == CROSSING_WINNER:
        raise CrossingRefused(
            f"both sides proposed update {incoming.nonce} at once: participant A's proposal wins, so the partner's "
            f"is refused and nothing changed; the partner acknowledges ours and proposes its payment again on top",
            proposal=None,
        )
    return True


def repropose(funding: Funding, base: BalanceProof, lost: BalanceProof, won: BalanceProof, side: str) -> BalanceProof:
    """The crossing loser's payment again, on top of the winner's state: `lost` was `side`'s proposal
    after `base`, `won` the winner's after the same `base`; the result pays the same amount after `won`.

    It is always affordable: `won` only adds to the loser's balance (the winner paid it).
    """
    return next_payment(funding, won, side, lost.transferred(side) - base.transferred(side))


def validate_withdraw(funding: Funding, proof: BalanceProof, side: str, total_withdraw: int) -> int:
    """Check a withdraw request by `side` against the latest state; return the amount paid out."""
    amount = total_withdraw - funding.withdrawn(side)
    if amount <= 0:
        raise NonceNotNext(
            f"withdraw total {total_withdraw} does not exceed the {funding.withdrawn(side)} already withdrawn"
        )
    available = balance(funding, proof, side)
    if amount > available:
        raise Overspend(f"withdraw of {amount} exceeds the {available} the participant owns")
    return amount


def cooperative_close(onchain: Funding, proof: BalanceProof, expiry: int) -> CooperativeClose:
    """The close paying out `proof` over Layer 1's totals, which is what the registry checks it against."""
    return CooperativeClose(proof.channel_id, balance(onchain, proof, A), balance(onchain, proof, B), onchain, expiry)


def validate_cooperative_close(onchain: Funding, proof: BalanceProof, close: CooperativeClose) -> None:
    """The close must be for this channel, on Layer 1's current totals, paying exactly the latest state."""
    if close.channel_id != proof.channel_id:
        raise WrongChannel(f"close is for channel 0x{close.channel_id.hex()}, not 0x{proof.channel_id.hex()}")
    if close.funding != onchain:
        raise TotalsNotConserved(f"cooperative close was computed on funding {close.funding}, Layer 1 holds {onchain}")
    expected = cooperative_close(onchain, proof, close.expiry)
    if close != expected:
        raise TotalsNotConserved(
            f"cooperative close proposes {close.balance_a, close.balance_b}, "
            f"the latest state says {expected.balance_a, expected.balance_b}"
        )
