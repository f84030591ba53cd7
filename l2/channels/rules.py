"""The rules of the payment channel: pure functions over immutable values.

Parties, the watcher, the tests and the bench all use these; nothing here
touches the chain, the disk or the clock. Balances come from running totals,
exactly as `ChannelRegistry.sol` computes them:

    balance_a = deposit_a - withdrawn_a - transferred_a + transferred_b

so deposits and withdrawals never need a new off-chain state, and a payment is
one running total going up by the amount, with the nonce going up by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_hash.auto import keccak
from eth_utils import to_canonical_address, to_checksum_address

from l2.channels.errors import (
    ChannelBalanceTooLow,
    ConcurrentUpdate,
    LocksNotSupported,
    NonceNotNext,
    Overspend,
    TotalsNotConserved,
    WrongChannel,
)
from l2.errors import InputError

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_ROOT = b"\x00" * 32
A, B = "A", "B"


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
    def from_json(cls, data: dict) -> BalanceProof:
        try:
            return cls(
                bytes.fromhex(data["channelId"].removeprefix("0x")),
                int(data["nonce"]),
                int(data["transferredA"]),
                int(data["transferredB"]),
                int(data["lockedA"]),
                int(data["lockedB"]),
                bytes.fromhex(data["locksRoot"].removeprefix("0x")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"malformed BalanceProof message: {exc!r}") from None


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

    def with_deposit(self, side: str, total_deposit: int) -> Funding:
        return replace(self, **{"deposit_a" if side == A else "deposit_b": total_deposit})

    def with_withdrawn(self, side: str, total_withdraw: int) -> Funding:
        return replace(self, **{"withdrawn_a" if side == A else "withdrawn_b": total_withdraw})


@dataclass(frozen=True)
class AgreedWithdraw:
    """A Withdraw both parties signed: it may be paid out on Layer 1 until `expiry` (inclusive)."""

    side: str
    total: int  # the side's new running total of withdrawals
    expiry: int  # last block timestamp at which `ChannelRegistry.withdraw` accepts it


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
                        self.as_tuple()))

    def to_json(self) -> dict:
        values = {k: str(v) for k, v in self.typed_values().items()}
        return {"channelId": "0x" + self.channel_id.hex(), **values, "expiry": self.expiry}

    @classmethod
    def from_json(cls, data: dict) -> CooperativeClose:
        try:
            return cls(
                bytes.fromhex(data["channelId"].removeprefix("0x")),
                int(data["balanceA"]),
                int(data["balanceB"]),
                Funding(int(data["depositA"]), int(data["depositB"]), int(data["withdrawnA"]), int(data["withdrawnB"])),
                int(data["expiry"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"malformed CooperativeClose message: {exc!r}") from None

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


def worth_answering(onchain: Funding, closing_nonce: int, closing_balance_a: int, best: BalanceProof, side: str) -> bool:
    """Whether `side` should answer a unilateral close by submitting `best` (its newest co-signed state).

    Only if Layer 1 would then pay `side` more than under the state it is closing on. A newer
    nonce is not enough: with running totals both ways, a newer state may pay us less (we paid
    since), and answering would cost us the difference plus gas. This holds whoever closed: a
    partner's stale close that favours us is left alone, and our own close on an old state that
    shortchanges us is corrected.
    """
    if best.nonce <= closing_nonce:
        return False
    payout_a, payout_b = settlement(onchain, best)
    ours_if_answered = payout_a if side == A else payout_b
    ours_as_closing = closing_balance_a if side == A else onchain.total - closing_balance_a
    return ours_if_answered > ours_as_closing


def initial_proof(params: ChannelParams) -> BalanceProof:
    return BalanceProof(params.channel_id, 0)


def next_payment(funding: Funding, proof: BalanceProof, payer: str, amount: int) -> BalanceProof:
    """The state after `payer` pays `amount`; InputError if the payer cannot afford it."""
    if not isinstance(amount, int) or amount <= 0:
        raise InputError(f"payment amount must be a positive integer, got {amount!r}")
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


def check_not_concurrent(pending: BalanceProof | None, incoming: BalanceProof) -> None:
    """ConcurrentUpdate if `incoming` (the partner's) races our own unacknowledged `pending` update.

    Any other nonce is left to `validate_update` (a replay or a gap, not a race).
    """
    if pending is None:
        return
    if incoming.nonce == pending.nonce + 1:
        # The partner counter-signed ours and paid again before its acknowledgement reached us.
        raise ConcurrentUpdate(
            f"the partner's update {incoming.nonce} follows our update {pending.nonce}, whose acknowledgement "
            f"has not arrived yet: nothing changed; deliver that acknowledgement, then this update again"
        )
    if incoming.nonce == pending.nonce:
        # Taking it would mean counter-signing a second state with the nonce we already signed;
        # whoever holds both could then close with the one that suits them.
        raise ConcurrentUpdate(
            f"both sides proposed update {incoming.nonce} at once: nothing changed, and neither can be "
            f"accepted without signing two states with one nonce"
        )


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
