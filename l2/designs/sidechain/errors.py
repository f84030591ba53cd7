"""What can go wrong on the sidechain, one class per cause.

A validator that receives a message breaking a rule (`VoteRejected`, `BlockRejected`) keeps its state
unchanged and carries on: one bad peer never stops an honest node. A user's transaction refused at the
door (`TransactionRejected`) becomes a JSON-RPC error with the same message.
"""

from __future__ import annotations

from l2.errors import ConfigError, InputError, L2Error, ProtocolViolation, StorageError


class SidechainError(L2Error):
    """Root of the sidechain's own errors."""


class SidechainConfigError(SidechainError, ConfigError):
    """The cluster or node configuration is missing or inconsistent (ports, keys, stakes, genesis)."""


class SidechainViolation(SidechainError, ProtocolViolation):
    """A message from another validator (or from someone pretending to be one) breaks a rule."""


class VoteRejected(SidechainViolation):
    """A vote or proposal is malformed, signed by no validator, or signed for another chain, height or round."""


class BlockRejected(SidechainViolation):
    """A proposed or synced block does not execute to the hash it claims, or breaks a block rule
    (parent, height, timestamp, an invalid transaction inside)."""


class CommitRejected(SidechainViolation):
    """A commit (the precommits stored with a block) lacks more than 2/3 of the stake for that block."""


class CheckpointRejected(SidechainViolation):
    """A checkpoint or its signatures would not pass Layer 1: a signer without stake in the epoch, a signer
    twice or out of order, less than 2/3 of the stake, a burn outside its range."""


class TransactionRejected(SidechainError, InputError):
    """A user's transaction cannot enter the mempool: undecodable, wrong chain id, nonce too low, unaffordable."""


class EquivocationRefused(SidechainError):
    """This validator was about to sign a second, different vote for a height, round and type it has already
    voted on (after a restart, say): it refuses, since two such votes are slashable evidence."""


class NodeUnavailable(SidechainError, ConnectionError):
    """A validator process did not start, answer or stop within its deadline."""


class SidechainStorageError(SidechainError, StorageError):
    """The validator's database is missing, corrupt, or belongs to another chain or validator."""
