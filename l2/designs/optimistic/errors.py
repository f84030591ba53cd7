"""Rollup-specific errors: why a transaction is refused, grouped under the project's hierarchy.

Every rule a transaction can break has its own class deriving from `InvalidTransaction`
(a `ProtocolViolation`), and from the matching input error where it is the user's mistake,
so callers can catch either `ProtocolViolation` or `InputError`.
"""

from __future__ import annotations

from l2.errors import InputError, InsufficientFundsError, InvalidSignature, L2Error, ProtocolViolation, StorageError


class RollupError(L2Error):
    """Root of the rollup package's own errors."""


class InvalidTransaction(ProtocolViolation):
    """A transaction breaks a rule of the rollup; a batch containing it is fraudulent."""


class UndecodableTransaction(InvalidTransaction, InputError):
    """Bytes that are not a well-formed rollup transaction."""


class MalformedTransaction(UndecodableTransaction):
    """A submitted transaction whose field has the wrong type or is out of range; the message names the field."""


class UnknownToken(InvalidTransaction, InputError):
    """A token the account, the fee receiver or the sequencer does not hold (0 is ETH)."""


class UnknownAccount(InvalidTransaction, InputError):
    """The account index is out of range or holds no account."""


class SelfTransfer(InvalidTransaction, InputError):
    """A transfer whose sender and recipient are the same account."""


class BadSignature(InvalidTransaction, InvalidSignature):
    """Missing signature, or one not made by the account's owner over this transaction and nonce."""


class WrongNonce(InvalidTransaction, InputError):
    """The transaction's nonce is not the account's next nonce (replay or gap)."""


class InsufficientBalance(InvalidTransaction, InsufficientFundsError):
    """The sender's balance is below amount + fee."""


class UnrepresentableAmount(InputError):
    """The amount does not fit the compact float encoding (10-11 significant digits)."""


class QueueMismatch(InvalidTransaction):
    """A QueueOp disagrees with the L1 queue entry it consumes (wrong account, wrong ok flag)."""


class BatchStateMismatch(RollupError):
    """Local state and Layer 1 disagree in a way that needs an operator (e.g. a reverted batch)."""


class BatchDataUnavailable(RollupError):
    """A batch's data cannot be rebuilt from Layer 1 (its posting transaction's input is not the
    batch): nobody can check it, so a verifier stops and says so instead of waiting quietly."""


class SequencerStorageError(RollupError, StorageError):
    """The sequencer's journal cannot be opened, or belongs to another rollup, kind or schema version."""
