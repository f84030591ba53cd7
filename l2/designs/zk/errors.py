"""The zk-rollup's errors, each under the project's cause (l2/errors.py)."""

from __future__ import annotations

from l2.errors import InputError, InvalidSignature, L2Error, ProtocolViolation, ToolMissingError


class BadSignature(InvalidSignature):
    """An EdDSA-Poseidon signature does not verify under the sender's key."""


class TxRejected(ProtocolViolation):
    """A Layer-2 transaction breaks a rule (balance, nonce, unknown account): no witness exists for it."""


class MalformedTx(InputError):
    """A value does not fit its encoding (an amount that is not a float, an index beyond the tree)."""


class CircuitError(L2Error):
    """circom rejected a circuit, or the prover could not build a witness or a proof."""


class ProverMissing(ToolMissingError):
    """circom2 (npm) or groth16py (PyPI) is not installed: run `make setup`."""


class BatchRejected(L2Error):
    """Layer 1 refused a batch (the proof did not verify, or its inputs moved meanwhile)."""
