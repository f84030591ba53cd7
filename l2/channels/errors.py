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


class ChannelBalanceTooLow(InputError):
    """This party asked to pay more than it owns in the channel (after withdrawals in flight)."""


class UpdateInFlight(InputError):
    """This party already sent an update that the counterparty has not answered."""


class ConcurrentUpdate(UpdateInFlight):
    """The partner's update arrived while our own awaits its acknowledgement; neither party changed."""


class CooperativeCloseSigned(InputError):
    """This party signed a cooperative close that can still be submitted: no payments either way
    until it is settled, expired or voided by a change of funding (or the partner could cash the
    older balances after being paid, or after paying, off-chain)."""


class ChannelStorageError(StorageError):
    """The channel database is missing or belongs to another channel."""
