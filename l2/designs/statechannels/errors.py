"""What can go wrong in a state channel, one class per broken rule.

The classes a state or a move can break carry the name of the Solidity custom error that refuses the same
thing on Layer 1 (`SetupStateChanged` here, `error SetupStateChanged(uint48)` in `Adjudicator.sol`), so the
tests can check that the Python rules and the contracts refuse the same inputs for the same reason. A party
that raises any of these keeps its state exactly as it was.
"""

from __future__ import annotations

from l2.errors import InputError, L2Error, ProtocolViolation, StorageError


class StateChannelViolation(ProtocolViolation):
    """A state or move breaks a rule of the adjudicator or of the app."""

    @property
    def solidity_name(self) -> str:
        return type(self).__name__


# --- the adjudicator's rules (every app) ---------------------------------------------------------

class TurnNotNext(StateChannelViolation):
    """The move's turn number is not exactly one more than the state it follows."""


class FinalStateCannotChange(StateChannelViolation):
    """A move after a final state: a final state is final."""


class FinalStateNeedsAllSignatures(StateChannelViolation):
    """A single mover tried to make a state final; only everyone together concludes a channel."""


class SetupStateChanged(StateChannelViolation):
    """A setup state (turn number below the number of participants) changed the outcome or the app data."""


class OutcomeLengthMismatch(StateChannelViolation):
    """The outcome does not give exactly one amount per participant."""


class OutcomeTotalChanged(StateChannelViolation):
    """The move changed the total of the outcome: money created or destroyed."""


class NotMover(StateChannelViolation):
    """The state is not signed by the participant whose turn it is (a move out of turn, or a forged one)."""


class NotSignedByAll(StateChannelViolation):
    """A state that needs everyone's signature lacks one (or has a signature from another channel, chain,
    adjudicator or app: it recovers to someone else)."""


class WrongChannel(StateChannelViolation):
    """The message is about another channel."""


class NotFinal(StateChannelViolation):
    """A conclusion proposed with a state that is not final."""


class MalformedState(StateChannelViolation, ValueError):
    """A state received over the wire cannot be decoded (the message names the field)."""


# --- rock-paper-scissors ---------------------------------------------------------------------------

class WrongParticipantCount(StateChannelViolation):
    """Rock-paper-scissors is a two-player game."""


class InvalidPhaseTransition(StateChannelViolation):
    """The game's phases go Start, Commit, Play, Reveal, Start: this move skips or reverses one."""


class WrongMover(StateChannelViolation):
    """This phase is entered by the other player."""


class StakeChanged(StateChannelViolation):
    """The stake is fixed for the whole game."""


class StakeNotAffordable(StateChannelViolation):
    """A player cannot cover the stake: the round cannot start."""


class WrongPayout(StateChannelViolation):
    """The move's outcome is not what the game's rules give for it."""


class EmptyCommitment(StateChannelViolation):
    """The first player committed to nothing."""


class CommitmentChanged(StateChannelViolation):
    """The commitment of the round changed after it was made."""


class InvalidPlay(StateChannelViolation):
    """A play is rock (1), paper (2) or scissors (3)."""


class PlayChanged(StateChannelViolation):
    """The second player's play changed after it was made."""


class RevealMismatch(StateChannelViolation):
    """The revealed play and salt do not hash to the commitment: the first player changed its mind."""


class DataNotCleared(StateChannelViolation):
    """Fields that belong to a later phase were filled in early (or not cleared for a new round)."""


# --- single-direction payment ----------------------------------------------------------------------

class AppDataChanged(StateChannelViolation):
    """The payment app's data never changes."""


class PaymentReversed(StateChannelViolation):
    """The payer's move took money back from the payee."""


class PayeeNotCredited(StateChannelViolation):
    """What left the payer did not arrive at the payee."""


class PayeeCannotMoveFunds(StateChannelViolation):
    """The payee's move only acknowledges; it may not change the outcome."""


class BystanderChanged(StateChannelViolation):
    """A participant other than payer and payee (a hub) had its amount changed."""


# --- ledger channels and guarantees ---------------------------------------------------------------

class NeedsEveryonesSignature(StateChannelViolation):
    """A ledger state moved by one participant: every ledger state is signed by all."""


class LedgerUpdateRefused(StateChannelViolation):
    """A proposed ledger state is not the one the agreed operation (fund or release a guarantee) gives."""


class ChannelReleased(LedgerUpdateRefused):
    """The hub already released its guarantees for this virtual channel: it never funds it again."""


# --- this party's own side -------------------------------------------------------------------------

class NotYourTurn(InputError):
    """This party was asked to move while it is another participant's turn."""


class ChannelFinalized(InputError):
    """The channel is final on Layer 1 (concluded, or a challenge ran out): no more moves."""


class NothingToDo(InputError):
    """The party was asked for something its states do not allow (no supported state to challenge with,
    nothing owed to pay out)."""


class NotFunded(InputError):
    """A move after setup on a channel whose outcome is not yet held by the Adjudicator (nor guaranteed by
    ledger channels): nobody could be paid what the move promises."""


class TransportError(L2Error, ConnectionError):
    """The peer could not be reached, answered too late, or sent more than a message may hold."""


class StateChannelStorageError(StorageError):
    """The state-channel database is missing, corrupt or belongs to another channel."""


class RecordUnavailable(L2Error):
    """A channel's Layer-1 record cannot be rebuilt from the Adjudicator's events and the input of the
    transactions that made it (one went through another contract, or what was read does not check against
    the record's fingerprint): a hub that needs it to challenge or claim cannot act, and says so instead
    of waiting quietly."""
