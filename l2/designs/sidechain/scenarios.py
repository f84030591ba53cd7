"""The sidechain's Layer-1 paths for `l2 gas-report` and the gas figures of `l2 bench`, on Layer 1 alone: the
validators' signatures are made here with the same functions the validator processes use (`bridge.py`), so
every figure is that of the contracts, without starting processes.

`bridge_paths`: stake four validators, deposit ETH, a checkpoint whose exit root holds two burns signed by
the smallest quorum, both burns exited, an equivocator slashed from two of its prevotes, an unstake and the
stake withdrawn after the unbonding delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain.gas import quorum_size
from l2.designs.sidechain.l1 import ETH, SidechainL1, deploy
from l2.designs.sidechain.messages import PREVOTE, sign_vote
from l2.designs.sidechain.session import VALIDATOR_STAKE, bridge_params, stake_params
from l2.l1.chain import Chain


@dataclass(frozen=True)
class BridgeGas:
    stake: int
    deposit: int
    checkpoint: int
    exit: int
    slash: int


def _hashes(start: int, end: int) -> list[bytes]:
    return [keccak(b"scenario block" + h.to_bytes(8, "big")) for h in range(start, end + 1)]


def _checkpoint(chain: Chain, l1: SidechainL1, signers: list[Signer], end: int, burns: list[bridge.Burn]):
    start = l1.last_end() + 1
    cp = bridge.make_checkpoint(start, _hashes(start, end), burns)
    number = l1.epoch()
    chosen = sorted(signers, key=lambda s: s.address.lower())[:quorum_size(len(signers))]
    signatures = {s.address: bridge.sign_checkpoint(s, chain.chain_id, l1.stake_manager.address, l1.sidechain_id, cp)
                  for s in chosen}
    return number, cp, l1.submit_checkpoint(chain.accounts[0], cp, signatures)


def bridge_paths(chain: Chain) -> BridgeGas:
    """Every StakeManager and DepositManager path a healthy sidechain uses, plus a slashing."""
    l1 = deploy(chain, stake_params(), bridge_params())
    owner, user, reporter = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    signers = [Signer(keccak(b"scenario validator" + bytes([i]))) for i in range(4)]
    staked = [l1.stake(owner, s.address, VALIDATOR_STAKE) for s in signers]
    deposited = l1.deposit_ether(user, user.address, 10**18)
    burns = [bridge.Burn(1, 2, ETH, user.address, 3 * 10**17), bridge.Burn(2, 3, ETH, user.address, 2 * 10**17)]
    number, cp, checkpointed = _checkpoint(chain, l1, signers, 4, burns)
    exits = [l1.exit(user, number, cp, burns, i) for i in range(len(burns))]
    cheat = signers[3]
    domain = l1.vote_domain()
    votes = [sign_vote(cheat, domain, 5, 0, PREVOTE, keccak(tag)) for tag in (b"one block", b"another")]
    slashed = l1.slash_double_vote(reporter, *votes)
    l1.unstake(owner, signers[2].address)
    # The unbonding delay, counted in checkpoints; the leaver signs until its unstake takes effect.
    for end, active in ((8, signers[:3]), (12, signers[:2]), (16, signers[:2])):
        _checkpoint(chain, l1, active, end, [])
    l1.withdraw_stake(owner, signers[2].address)
    return BridgeGas(staked[-1].gasUsed, deposited.gasUsed, checkpointed.gasUsed, exits[-1].gasUsed, slashed.gasUsed)
