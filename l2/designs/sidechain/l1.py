"""Thin client of the sidechain's Layer-1 contracts (StakeManager, DepositManager): deploy, calls, events.

Every rule lives in the contracts and every hash in `bridge.py`; this module only shapes arguments and
reads events back, and lets reverts surface as the chain's decoded `TransactionReverted`.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import Burn, Checkpoint
from l2.designs.sidechain.messages import ZERO_ADDRESS, Domain, Vote
from l2.l1.chain import Chain

ETH = ZERO_ADDRESS


@dataclass(frozen=True)
class StakeParams:
    """StakeManager's constructor arguments; dev defaults (Polygon: an unbonding delay of 2^13 checkpoints)."""

    sidechain_id: int
    stake_token: str = ZERO_ADDRESS
    min_stake: int = 10**18
    max_validators: int = 100
    unbonding_delay: int = 2
    confirmations: int = 2
    reporter_share_bps: int = 1_000

    def args(self) -> tuple:
        return (self.sidechain_id, self.stake_token, self.min_stake, self.max_validators, self.unbonding_delay,
                self.confirmations, self.reporter_share_bps)


@dataclass(frozen=True)
class BridgeParams:
    outflow_limits: tuple[tuple[str, int], ...] = ((ETH, 100 * 10**18),)  # (asset, most paid per checkpoint)
    hold_period: int = 24 * 3600  # seconds an exit past the limit waits

    def args(self, stake_manager: str) -> tuple:
        return (stake_manager, [t for t, _ in self.outflow_limits], [limit for _, limit in self.outflow_limits],
                self.hold_period)


@dataclass(frozen=True)
class StateSync:
    id: int
    depositor: str
    token: str
    recipient: str
    amount: int
    l1_block: int


@dataclass(frozen=True)
class Slashing:
    """A `Slashed` event: the whole `amount` of `signer`'s stake taken, `reward` of it paid to `reporter`."""

    signer: str
    reporter: str
    amount: int
    reward: int
    tx_hash: bytes
    l1_block: int


@dataclass(frozen=True)
class SetChange:
    change_id: int
    signer: str
    power: int
    effective_epoch: int
    l1_block: int


def deploy(chain: Chain, stake: StakeParams, bridge_params: BridgeParams | None = None, *,
           sender: LocalAccount | None = None) -> SidechainL1:
    stake_manager = chain.deploy("StakeManager", *stake.args(), sender=sender)
    deposit_manager = chain.deploy("DepositManager", *(bridge_params or BridgeParams()).args(stake_manager.address),
                                   sender=sender)
    return SidechainL1(chain, stake_manager.address, deposit_manager.address)


class SidechainL1:
    def __init__(self, chain: Chain, stake_manager: str, deposit_manager: str):
        self.chain = chain
        self.stake_manager = chain.contract("StakeManager", stake_manager)
        self.deposit_manager = chain.contract("DepositManager", deposit_manager)
        self.sidechain_id = self.stake_manager.functions.sidechainId().call()
        self.stake_token = self.stake_manager.functions.stakeToken().call()

    @property
    def sm(self):
        return self.stake_manager.functions

    @property
    def dm(self):
        return self.deposit_manager.functions

    # --- what validators sign --------------------------------------------------------------------------

    def checkpoint_digest(self, checkpoint: Checkpoint) -> bytes:
        return bridge.checkpoint_digest(self.chain.chain_id, self.stake_manager.address, self.sidechain_id,
                                        checkpoint)

    def vote_domain(self) -> Domain:
        return bridge.vote_domain(self.sidechain_id, self.stake_manager.address)

    # --- staking ---------------------------------------------------------------------------------------

    def stake(self, owner: LocalAccount, signer: str, amount: int):
        value = amount if self.stake_token == ZERO_ADDRESS else 0
        return self.chain.transact(self.sm.stake(to_checksum_address(signer), amount), owner, value=value)

    def unstake(self, owner: LocalAccount, signer: str):
        return self.chain.transact(self.sm.unstake(to_checksum_address(signer)), owner)

    def withdraw_stake(self, owner: LocalAccount, signer: str):
        return self.chain.transact(self.sm.withdrawStake(to_checksum_address(signer)), owner)

    # --- checkpoints -----------------------------------------------------------------------------------

    def submit_checkpoint(self, sender: LocalAccount, checkpoint: Checkpoint, signatures: dict[str, bytes] | bytes):
        """`signatures`: by signer address (packed in order here), or already packed (as given, for tests)."""
        packed = signatures if isinstance(signatures, bytes) else bridge.pack_signatures(signatures)
        return self.chain.transact(self.sm.submitCheckpoint(*checkpoint.as_tuple(), packed), sender)

    def confirmations(self) -> int:
        """Layer-1 blocks the validators wait before they act on an event."""
        return self.sm.confirmations().call()

    def epoch(self) -> int:
        return self.sm.epoch().call()

    def last_end(self) -> int:
        return self.sm.head().call()[1]

    def total_stake(self) -> int:
        return self.sm.head().call()[2]

    def voting_power(self, signer: str) -> int:
        return self.sm.votingPower(to_checksum_address(signer)).call()

    def stake_of(self, signer: str) -> int:
        """The signer's stake held by the StakeManager (bonded or unbonding; 0 once slashed or withdrawn)."""
        return self.sm.validators(to_checksum_address(signer)).call()[0]

    def checkpoints(self) -> list[tuple[int, Checkpoint]]:
        """(number, checkpoint) of every accepted checkpoint, from its events."""
        return [(log.args.number, Checkpoint(log.args.start, log.args.end, bytes(log.args.blockRoot),
                                             bytes(log.args.exitRoot)))
                for log in self.stake_manager.events.CheckpointSubmitted().get_logs(from_block=0)]

    def set_changes(self, from_block: int = 0, to_block: int | str = "latest") -> list[SetChange]:
        return [SetChange(log.args.changeId, log.args.signer, log.args.power, log.args.effectiveEpoch,
                          log.blockNumber)
                for log in self.stake_manager.events.ValidatorSetChanged().get_logs(from_block=from_block,
                                                                                    to_block=to_block)]

    # --- deposits and exits ----------------------------------------------------------------------------

    def deposit_ether(self, sender: LocalAccount, recipient: str, amount: int):
        return self.chain.transact(self.dm.depositEther(to_checksum_address(recipient)), sender, value=amount)

    def deposit_erc20(self, sender: LocalAccount, token: str, recipient: str, amount: int):
        return self.chain.transact(self.dm.depositERC20(to_checksum_address(token), to_checksum_address(recipient),
                                                        amount), sender)

    def state_syncs(self, after_id: int = 0, to_block: int | str = "latest", from_block: int = 0) -> list[StateSync]:
        """Every deposit with an id above `after_id` (in Layer-1 blocks from_block..to_block), in id order."""
        logs = self.deposit_manager.events.StateSynced().get_logs(from_block=from_block, to_block=to_block)
        out = [StateSync(log.args.id, log.args.depositor, log.args.token, log.args.recipient, log.args.amount,
                         log.blockNumber) for log in logs if log.args.id > after_id]
        return sorted(out, key=lambda s: s.id)

    def exit(self, sender: LocalAccount, number: int, checkpoint: Checkpoint, burns: list[Burn], index: int, *,
             proof: list[bytes] | None = None):
        """Prove `burns[index]` against checkpoint `number` (whose burns are `burns`, in order) and pay it."""
        path = bridge.exit_proof(burns, index) if proof is None else proof
        return self.chain.transact(self.dm.exit(number, checkpoint.as_tuple(), burns[index].as_tuple(), index, path),
                                   sender)

    def release_held(self, sender: LocalAccount, burn: Burn, release_at: int):
        return self.chain.transact(self.dm.releaseHeld(burn.as_tuple(), release_at), sender)

    def claim(self, sender: LocalAccount, token: str = ETH):
        return self.chain.transact(self.dm.claim(to_checksum_address(token)), sender)

    def locked(self, token: str = ETH) -> int:
        return self.dm.locked(to_checksum_address(token)).call()

    def pending_payouts(self, token: str = ETH) -> int:
        return self.dm.pendingPayouts(to_checksum_address(token)).call()

    def exited(self, burn_id: int) -> bool:
        return self.dm.exited(burn_id).call()

    # --- slashing --------------------------------------------------------------------------------------

    def slash_double_vote(self, sender: LocalAccount, first: Vote, second: Vote):
        """Submit two votes as the validators collected them (`consensus.Equivocation`)."""
        def vote_tuple(v: Vote) -> tuple:
            return (v.height, v.round, v.vote_type, v.block_hash)

        return self.chain.transact(self.sm.slashDoubleVote(vote_tuple(first), first.signature, vote_tuple(second),
                                                           second.signature), sender)

    def slashings(self, from_block: int = 0) -> list[Slashing]:
        return [Slashing(log.args.signer, log.args.reporter, log.args.amount, log.args.reward,
                         bytes(log.transactionHash), log.blockNumber)
                for log in self.stake_manager.events.Slashed().get_logs(from_block=from_block)]

    def burned(self) -> int:
        """Slashed stake not paid to reporters, kept in the StakeManager for good."""
        return self.sm.burned().call()

    def slash_double_checkpoint(self, sender: LocalAccount, first: tuple[Checkpoint, bytes],
                                second: tuple[Checkpoint, bytes]):
        return self.chain.transact(self.sm.slashDoubleCheckpoint(first[0].as_tuple(), first[1], second[0].as_tuple(),
                                                                 second[1]), sender)
