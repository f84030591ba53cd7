"""What can go wrong in a payment channel, one class per broken rule.

A party that raises any of these keeps its state exactly as it was.
"""

from __future__ import annotations

from l2.errors import InputError, ProtocolViolation, StorageError


class ChannelProtocolViolation(ProtocolViolation):
    """The counterparty's message breaks a channel rule."""


class WrongChannel(ChannelProtocolViolation):
    """The message is for another channel, registry or chain."""


class NonceNotNext(ChannelProtocolViolation):
    """The nonce is not exactly the next one: a replayed, reordered or skipped message."""


class TotalsNotConserved(ChannelProtocolViolation):
    """The update changes the running totals otherwise than by one payment from the payer."""


class Overspend(ChannelProtocolViolation):
    """The payer sends more than it owns in the channel."""


class LocksNotSupported(ChannelProtocolViolation):
    """The update carries hash-locks; multi-hop transfers are not implemented yet."""


# --- a message that is not even well-formed ------------------------------------------------------
# Raised by the decoders in `messages.py` before anything is checked, signed or stored. Each names
# the message type and the field (`error.field`, e.g. "proof.nonce"), so the sender can be told
# exactly what to fix. ValueError too, as web3's errors are, for callers that catch that.


class MalformedMessage(ChannelProtocolViolation, ValueError):
    """A channel message that cannot be decoded: not an object, or a field missing, mistyped or out of range."""

    def __init__(self, message_type: str, field: str, problem: str):
        self.message_type = message_type
        self.field = field
        super().__init__(f"malformed {message_type} message: {field} {problem}")


class WrongMessageType(MalformedMessage):
    """The message's `type` is not the one this entry point takes."""


class MissingField(MalformedMessage):
    """A required field is absent."""


class BadFieldType(MalformedMessage):
    """A field has the wrong JSON type or format (None, a list, a float or bool for an integer, non-hex text)."""


class FieldOutOfRange(MalformedMessage):
    """A field is of the right type but outside its Solidity type's range (negative, past uint64 or
    uint256, a byte string of the wrong length)."""


# --- what this party was asked to do -----------------------------------------------------------


class InvalidAmount(InputError):
    """An amount or expiry given to this party is not a positive integer Layer 1 can hold."""


class ChannelBalanceTooLow(InputError):
    """This party asked to pay more than it owns in the channel (after withdrawals in flight)."""


class ChannelClosed(InputError):
    """The channel is closing, closed or settled on Layer 1: no more payments, withdrawals, deposits or
    cooperative closes on it (only answering a close and settling, while it is closing)."""


class UpdateInFlight(InputError):
    """This party already sent an update that the counterparty has not answered."""


class ConcurrentUpdate(UpdateInFlight):
    """The partner's update arrived while our own awaits its acknowledgement; neither party changed."""


class CrossingRefused(ConcurrentUpdate):
    """Both sides proposed the same nonce at once and ours wins (participant A's proposal always does):
    the partner's is refused, nothing changed here. The partner acknowledges ours when it arrives and
    proposes its own payment again on top; `proposal` is ours, to deliver again if it was lost."""

    def __init__(self, text: str, proposal: dict | None):
        self.proposal = proposal
        super().__init__(text)


class CooperativeCloseSigned(InputError):
    """This party signed a cooperative close that can still be submitted: no payments either way
    until it is settled, expired or voided by a change of funding (or the partner could cash the
    older balances after being paid, or after paying, off-chain)."""


class ChannelStorageError(StorageError):
    """The channel database is missing or belongs to another channel."""
