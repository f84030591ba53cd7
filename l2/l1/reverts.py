"""A revert, whichever node or library reported it, as the contract's own error.

Pure functions: `revert_payload(exc)` finds the revert data (or a reason string) in what web3,
eth-tester or a node's JSON-RPC error carried; `decode_revert(data, errors)` names it against the
project's custom errors (`error_table(artifacts)`), `Error(string)` and `Panic(uint256)`. Nodes
disagree on where the data sits: anvil and geth put it in `error.data` ("0x..."), the Hardhat node
one level deeper (`error.data.data`, beside its own message), and some proxies nest the original
error again. Data that names no known error, or does not decode as the error it names, is an
`UnknownError` carrying the raw bytes: never a crash.

`RevertDataMiddleware` hands a JSON-RPC node's revert bytes to us before web3 interprets them: web3
raises KeyError on a Panic without its code and a decoding error on a malformed OffchainLookup, and
does not look for Hardhat's nested data at all.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.middleware.base import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse

from l2.errors import TransactionReverted

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
_MAX_NESTING = 4  # how deep into nested `data` / `originalError` objects a payload is looked for
_HARDHAT_PREFIX = "Error: VM Exception while processing transaction: "
# The Hardhat node's words for an Error(string) or Panic(uint256) selector whose payload does not decode:
# it then keeps the bytes to itself.
_HARDHAT_UNREADABLE = re.compile(r"Expected return data to contain a valid \w+")
_REVERTING_METHODS = {"eth_call", "eth_estimateGas"}

ErrorTable = Mapping[bytes, tuple[str, list[str]]]  # selector -> (error name, ABI argument types)


def error_table(abis: Iterable[list[dict]]) -> dict[bytes, tuple[str, list[str]]]:
    """Every custom error declared in `abis`, by its 4-byte selector."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for abi in abis:
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [abi_type(i) for i in item["inputs"]]
            table[function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")] = (item["name"], types)
    return table


def abi_type(param: dict) -> str:
    """ABI type string, expanding tuples (structs) recursively."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def decode_revert(data: bytes, errors: ErrorTable, detail: str = "") -> TransactionReverted:
    """The revert `data` as the error it encodes: a custom error in `errors`, Error(string) or Panic(uint256)."""
    selector, payload = data[:4], data[4:]
    known: dict[bytes, tuple[str, list[str]]] = {ERROR_STRING_SELECTOR: ("Error", ["string"]),
                                                 PANIC_SELECTOR: ("Panic", ["uint256"])}
    name_types = known.get(selector) or errors.get(selector)
    if name_types is not None:
        name, types = name_types
        try:
            return TransactionReverted(name, abi_decode(types, payload), detail)
        except Exception:  # noqa: BLE001 - a forged payload or a selector clash: reported raw below
            pass
    if not data:
        return TransactionReverted("EmptyRevert", (), detail)
    return TransactionReverted("UnknownError", ("0x" + data.hex(),), detail)


def decode_reason(reason: str, detail: str = "") -> TransactionReverted:
    """A revert a node reported in words only: Error(reason), or UnknownError when the words say the data was
    malformed (the bytes are gone)."""
    reason = reason.removeprefix(_HARDHAT_PREFIX)
    if _HARDHAT_UNREADABLE.fullmatch(reason):
        return TransactionReverted("UnknownError", (), detail)
    return TransactionReverted("Error", (reason,), detail)


class RevertDataMiddleware(Web3Middleware):
    """A call or gas estimate that reverted with data raises ContractLogicError(data="0x..."), the same on
    every node, before web3's own interpretation of the data (which crashes on forged data) runs."""

    def response_processor(self, method: RPCEndpoint, response: RPCResponse) -> RPCResponse:
        error = response.get("error")
        if method in _REVERTING_METHODS and isinstance(error, Mapping):
            data = hex_data(error.get("data"))
            if data is not None:
                message = str(error.get("message") or "execution reverted")
                raise ContractLogicError(message, data="0x" + data.hex())
        return response


def revert_payload(exc: Exception) -> bytes | str | None:
    """Raw revert data (bytes) or a reason string from whatever web3/eth-tester raised; None if not a revert."""
    if isinstance(exc, ContractLogicError):
        data = hex_data(exc.data)
        if data is not None:
            return data
        message = str(exc.args[0]) if exc.args else ""
        return message.removeprefix("execution reverted: ").removeprefix("execution reverted")
    if isinstance(exc, Web3RPCError):
        rpc = exc.rpc_response or {}
        err = rpc.get("error", {}) if isinstance(rpc, dict) else {}
        data = hex_data(err.get("data")) if isinstance(err, dict) else None
        if data is not None:
            return data
        message = str(err.get("message", "")) if isinstance(err, dict) else ""
        return message if "revert" in message else None
    if type(exc).__name__ == "TransactionFailed":  # eth-tester: message carries a bytes repr or a reason
        message = str(exc.args[0]) if exc.args else ""
        reason = message.removeprefix("execution reverted: ")
        if reason.startswith(("b'", 'b"')):
            try:
                return ast.literal_eval(reason)
            except (ValueError, SyntaxError):
                return reason
        if reason in ("Revert", ""):
            return b""
        return reason
    # web3's eth-tester glue interprets some revert data itself and can fail on forged data (a Panic
    # without its code: KeyError; an OffchainLookup that does not decode): the revert is what it was handling.
    context = exc.__context__
    if isinstance(context, Exception) and type(context).__name__ == "TransactionFailed":
        return revert_payload(context)
    return None


def hex_data(value: Any, depth: int = 0) -> bytes | None:
    """The revert bytes in a JSON-RPC error's `data`: "0x..." itself, or nested in `data` / `originalError`."""
    if isinstance(value, str):
        text = value.removeprefix("0x")
        if value.startswith("0x") and len(text) % 2 == 0:
            try:
                return bytes.fromhex(text)
            except ValueError:
                return None
        return None
    if isinstance(value, Mapping) and depth < _MAX_NESTING:
        for key in ("data", "originalError"):
            found = hex_data(value.get(key), depth + 1)
            if found is not None:
                return found
    return None
