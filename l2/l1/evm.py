"""Which EVM (hardfork) the contracts are built for, which one a node runs, and what each design needs.

`--evm-version` (prague by default; cancun, shanghai) sets the build: solc's `evmVersion`. A node
that is not on Prague then still runs what does not need Prague. What a node runs is asked, not
assumed: an `eth_call` of a few bytes of init code per fork (PUSH0 is Shanghai's, MCOPY Cancun's) and
a call to EIP-2537's G1ADD precompile (Prague's; before it, an empty account answers nothing). A
contract that needs a newer fork than the build or the node is refused before the first transaction,
in one line naming the fork and why (`EvmVersionError`), where it would otherwise fail on chain with
"invalid opcode" or a precompile that answers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from l2.errors import EvmVersionError

EVM_VERSIONS = ("shanghai", "cancun", "prague")  # oldest first
DEFAULT_EVM_VERSION = "prague"  # py-evm's newest VM, the embedded chain's

_G1ADD = "0x000000000000000000000000000000000000000b"  # EIP-2537 BLS12_G1ADD
# Init code run by eth_call without a `to`: it stops at once if the node knows the opcodes in it.
_PROBES = (
    ("cancun", {"data": "0x5f5f5f5e00"}),  # PUSH0 PUSH0 PUSH0 MCOPY STOP
    ("shanghai", {"data": "0x5f00"}),  # PUSH0 STOP
)


@dataclass(frozen=True)
class EvmRequirement:
    """The oldest fork some contracts run on, and what they need from it."""

    version: str = EVM_VERSIONS[0]
    reason: str = ""  # "EIP-2537 BLS12-381 precompiles"
    who: str = ""  # whose contracts: a design's title, filled in by the registry

    def __post_init__(self):
        check_evm_version(self.version)


def check_evm_version(version: str) -> str:
    if version not in EVM_VERSIONS:
        raise EvmVersionError(f"unknown EVM version {version!r}: choose one of {', '.join(EVM_VERSIONS)}")
    return version


def older(a: str, b: str) -> bool:
    """Whether fork `a` comes before fork `b`."""
    return EVM_VERSIONS.index(check_evm_version(a)) < EVM_VERSIONS.index(check_evm_version(b))


def node_evm_version(w3: Any) -> str | None:
    """The newest of EVM_VERSIONS the node at `w3` runs; None if no probe answers (a node older than Shanghai,
    or one that refuses such calls: then only the build is checked, never a guess refused)."""
    g1_add = w3.provider.make_request("eth_call", [{"to": _G1ADD, "data": "0x" + "00" * 256}, "latest"])
    if len(str(g1_add.get("result") or "0x")) > 2:  # the point at infinity, 128 bytes; no precompile: nothing
        return "prague"
    for version, tx in _PROBES:
        if "result" in w3.provider.make_request("eth_call", [tx, "latest"]):
            return version
    return None


def check_requirements(requirements: Iterable[EvmRequirement], built_for: str, node_runs: str | None,
                       node: str = "the node") -> None:
    """EvmVersionError, in one line, if the build is newer than the node (`node_runs`, None if unknown) or a
    requirement is newer than the build."""
    if node_runs is not None and older(node_runs, built_for):
        raise EvmVersionError(f"{node} runs {node_runs} but the contracts are built for {built_for}: "
                              f"pass --evm-version {node_runs}")
    for need in requirements:
        if older(built_for, need.version):
            raise EvmVersionError(f"{need.who or 'a contract'}: needs {need.version} ({need.reason}) and cannot be "
                                  f"built for {built_for}; use a node on {need.version} and "
                                  f"--evm-version {need.version}")
