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
class ClusterConfig:
    genesis: Genesis
    nodes: tuple[NodeSpec, ...]
    timing: Timing
    verifying_contract: str = ZERO_ADDRESS

    @property
    def chain_id(self) -> int:
        return self.genesis.chain_id

    @property
    def domain(self) -> Domain:
        return Domain(self.genesis.chain_id, self.verifying_contract)

    @property
    def validators(self) -> ValidatorSet:
        return ValidatorSet(tuple(Validator(n.address, n.power) for n in self.nodes))

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
                                "rpcPort": n.rpc_port} for n in self.nodes]}

    @classmethod
    def from_json(cls, data: dict) -> ClusterConfig:
        try:
            t = data["timing"]
            timing = Timing(float(t["propose"]), float(t["prevote"]), float(t["precommit"]), float(t["delta"]),
                            float(t["blockInterval"]), float(t["maxTimeout"]))
            nodes = tuple(NodeSpec(to_checksum_address(v["address"]), int(v["power"]), int(v["p2pPort"]),
                                   int(v["rpcPort"])) for v in data["validators"])
            config = cls(Genesis.from_json(data["genesis"]), nodes, timing,
                         to_checksum_address(data.get("verifyingContract", ZERO_ADDRESS)))
            config.validators  # noqa: B018 - checks the set (non-empty, distinct, positive stakes)
        except (KeyError, TypeError, ValueError) as exc:
            raise SidechainConfigError(f"sidechain configuration is malformed: {exc}") from None
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
