"""One error hierarchy for the whole project.

Grouped by cause, as raiden does: the user gave bad input, the counterparty
broke the protocol, Layer 1 refused a transaction, our own storage failed.
Subclasses also inherit the matching built-in where one fits, as web3.py does,
so `except ValueError` keeps working for callers that expect it. The CLI turns
any `L2Error` into one line on stderr and exit code 1.
"""

from __future__ import annotations


class L2Error(Exception):
    """Root of every error this project raises on purpose."""


# --- the user gave something we cannot use -----------------------------------------------

class InputError(L2Error, ValueError):
    """Bad input from the user: a flag, a file, an amount, an address."""


class ConfigError(InputError):
    """A setting is missing or malformed (environment variable, URL, key)."""


class ChainConnectionError(L2Error, ConnectionError):
    """The Layer-1 node cannot be reached or does not answer JSON-RPC."""


class InsufficientFundsError(InputError):
    """The account cannot pay for what it was asked to do."""


class EvmVersionError(ConfigError):
    """The contracts are built for another EVM version (hardfork) than a node runs or a design needs."""


class ManifestError(InputError):
    """A deployment manifest is unreadable or belongs to another chain."""


class ScriptError(L2Error):
    """A script run by `l2 sandbox --script` raised; the message names the script's file and line."""


class CompileError(L2Error):
    """solc rejected the Solidity sources; the message points at file:line."""


class ToolMissingError(L2Error, FileNotFoundError):
    """A required external tool (node, solc-js, anvil) is not installed."""


# --- Layer 1 said no ---------------------------------------------------------------------

class TransactionReverted(L2Error):
    """A Layer-1 call or transaction reverted.

    `error_name` is the Solidity custom error (or "Error" for require strings,
    "Panic" for assertion failures), `error_args` its decoded arguments, so tests
    can assert the exact reason: `pytest.raises(TransactionReverted, match="NonceTooLow")`.
    """

    def __init__(self, error_name: str, error_args: tuple = (), detail: str = ""):
        self.error_name = error_name
        self.error_args = tuple(error_args)
        args_text = ", ".join(repr(a) for a in self.error_args)
        message = f"reverted: {error_name}({args_text})"
        if detail:
            message += f" in {detail}"
        super().__init__(message)


# --- the counterparty (or a forged message) broke the protocol ---------------------------

class ProtocolViolation(L2Error):
    """A message from another party breaks the protocol's rules.

    Protocol packages subclass it per rule (bad signature, stale nonce, ...);
    whoever receives such a message keeps its state unchanged.
    """


class InvalidSignature(ProtocolViolation):
    """A signature does not recover to the expected signer, or is malleable."""


# --- our own side ------------------------------------------------------------------------

class StorageError(L2Error):
    """The local database is missing, corrupt or belongs to another channel or chain."""
