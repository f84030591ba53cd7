"""Layer-1 gas of a sidechain checkpoint by the number of validators, beside Polygon Edge's figures.

`python -m l2.designs.sidechain.gas` prints the table on the embedded chain. Each figure is a steady-state
checkpoint (the second one: the first also writes the head slot from zero) of 256 blocks with an exit root,
signed by every validator of equal stake, and by the smallest quorum of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain.l1 import ETH, BridgeParams, StakeParams, deploy
from l2.l1.chain import Chain, EmbeddedChain

# CheckpointManager.submit of Polygon Edge (0xPolygon/edge-contracts #292), by validator count.
POLYGON_EDGE = {1: 331_008, 4: 414_436, 10: 550_430, 20: 782_102, 30: 1_020_880}
SIDECHAIN_ID = 905
BLOCKS_PER_CHECKPOINT = 256
STAKE = 10**18


@dataclass(frozen=True)
class CheckpointGas:
    validators: int
    all_signing: int
    quorum_signing: int  # the fewest equal-stake signers holding more than 2/3
    quorum: int


def quorum_size(validators: int) -> int:
    return validators * 2 // 3 + 1


def checkpoint_gas(chain: Chain, validators: int) -> CheckpointGas:
    """Measure on `chain`, leaving it as it was (snapshot and revert)."""
    snapshot = chain.snapshot()
    try:
        l1 = deploy(chain, StakeParams(SIDECHAIN_ID, max_validators=max(validators, 1)), BridgeParams())
        signers = [Signer(keccak(b"gas validator" + bytes([i]))) for i in range(validators)]
        for signer in signers:
            l1.stake(chain.accounts[0], signer.address, STAKE)
        gas = []
        for chosen in (signers, signers, sorted(signers, key=lambda s: s.address.lower())[:quorum_size(validators)]):
            start = l1.last_end() + 1
            hashes = [keccak(b"block" + h.to_bytes(8, "big")) for h in range(start, start + BLOCKS_PER_CHECKPOINT)]
            burns = [bridge.Burn(start + i, start + i, ETH, chain.accounts[1].address, 1) for i in range(3)]
            cp = bridge.make_checkpoint(start, hashes, burns)
            signatures = {s.address: bridge.sign_checkpoint(s, chain.chain_id, l1.stake_manager.address,
                                                            SIDECHAIN_ID, cp) for s in chosen}
            gas.append(l1.submit_checkpoint(chain.accounts[0], cp, signatures).gasUsed)
        return CheckpointGas(validators, gas[1], gas[2], quorum_size(validators))
    finally:
        chain.revert(snapshot)


def main() -> int:
    chain = EmbeddedChain()
    print(f"{'validators':>10} {'all sign':>10} {'quorum':>7} {'quorum signs':>13} {'Polygon Edge':>13} {'ratio':>6}")
    for n, edge in POLYGON_EDGE.items():
        g = checkpoint_gas(chain, n)
        print(f"{n:>10} {g.all_signing:>10,} {g.quorum:>7} {g.quorum_signing:>13,} {edge:>13,} "
              f"{g.all_signing / edge:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
