"""A sidechain cluster's configuration: one JSON file every validator reads (its own key comes separately).

It fixes what all validators must agree on (chain id, genesis, validator set and stakes, timeouts, the
evidence contract of the signing domain) and where each one listens (its peer port and its JSON-RPC port,
both on 127.0.0.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from l2.designs.sidechain.consensus import Timing, Validator, ValidatorSet
from l2.designs.sidechain.errors import SidechainConfigError
from l2.designs.sidechain.execution import Genesis
from l2.designs.sidechain.messages import ZERO_ADDRESS, Domain


@dataclass(frozen=True)
class NodeSpec:
    address: str
    power: int
    p2p_port: int
    rpc_port: int


@dataclass(frozen=True)
class L1Link:
    """Where the validators reach Layer 1 and its contracts, and how often they checkpoint."""

    rpc_url: str  # 127.0.0.1 in tests: anvil, or the embedded chain's gateway
    stake_manager: str
    deposit_manager: str
    checkpoint_interval: int = 8  # blocks per checkpoint (checkpoint n covers (n-1)K+1..nK)

    def to_json(self) -> dict:
        return {"rpcUrl": self.rpc_url, "stakeManager": self.stake_manager, "depositManager": self.deposit_manager,
                "checkpointInterval": self.checkpoint_interval}

    @classmethod
    def from_json(cls, data: dict) -> L1Link:
        interval = int(data["checkpointInterval"])
        if interval < 1:
            raise ValueError("checkpointInterval must be at least 1")
        return cls(str(data["rpcUrl"]), to_checksum_address(data["stakeManager"]),
                   to_checksum_address(data["depositManager"]), interval)


@dataclass(frozen=True)
class ClusterConfig:
    genesis: Genesis
    nodes: tuple[NodeSpec, ...]
    timing: Timing
    verifying_contract: str = ZERO_ADDRESS
    l1: L1Link | None = None  # without it: no bridge (no state syncs, no checkpoints)

    @property
    def chain_id(self) -> int:
        return self.genesis.chain_id

    @property
    def domain(self) -> Domain:
        return Domain(self.genesis.chain_id, self.verifying_contract)

    @property
    def validators(self) -> ValidatorSet:
        """The genesis set: nodes with power (a node without is a standby until Layer 1 names it)."""
        return ValidatorSet(tuple(Validator(n.address, n.power) for n in self.nodes if n.power > 0))

    def node(self, address: str) -> NodeSpec:
        for n in self.nodes:
            if n.address == address:
                return n
        raise SidechainConfigError(f"{address} is not a validator of this sidechain")

    def to_json(self) -> dict:
        t = self.timing
        return {"genesis": self.genesis.to_json(), "verifyingContract": self.verifying_contract,
                "timing": {"propose": t.propose, "prevote": t.prevote, "precommit": t.precommit, "delta": t.delta,
                           "blockInterval": t.block_interval, "maxTimeout": t.max_timeout},
                "validators": [{"address": n.address, "power": str(n.power), "p2pPort": n.p2p_port,
                                "rpcPort": n.rpc_port} for n in self.nodes],
                "l1": self.l1.to_json() if self.l1 else None}

    @classmethod
    def from_json(cls, data: dict) -> ClusterConfig:
        try:
            t = data["timing"]
            timing = Timing(float(t["propose"]), float(t["prevote"]), float(t["precommit"]), float(t["delta"]),
                            float(t["blockInterval"]), float(t["maxTimeout"]))
            nodes = tuple(NodeSpec(to_checksum_address(v["address"]), int(v["power"]), int(v["p2pPort"]),
                                   int(v["rpcPort"])) for v in data["validators"])
            l1 = L1Link.from_json(data["l1"]) if data.get("l1") else None
            config = cls(Genesis.from_json(data["genesis"]), nodes, timing,
                         to_checksum_address(data.get("verifyingContract", ZERO_ADDRESS)), l1)
            if l1 is not None and config.verifying_contract != l1.stake_manager:
                raise ValueError("verifyingContract must be the StakeManager when Layer 1 judges the votes")
            config.validators  # noqa: B018 - checks the set (non-empty, distinct, positive stakes)
        except (KeyError, TypeError, ValueError) as exc:
            raise SidechainConfigError(f"sidechain configuration is malformed: {exc}") from None
        if any(n.power < 0 for n in nodes):
            raise SidechainConfigError("a validator's power cannot be negative")
        ports = [p for n in nodes for p in (n.p2p_port, n.rpc_port)]
        if len(set(ports)) != len(ports):
            raise SidechainConfigError("two validators (or one validator's two servers) share a port")
        return config

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, path: Path) -> ClusterConfig:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise SidechainConfigError(f"cannot read the sidechain configuration {path}: {exc}") from None
