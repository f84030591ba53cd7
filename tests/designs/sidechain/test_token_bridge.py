"""An ERC-20 through the whole bridge, the sidechain executed in this process: locked on Layer 1, its
state sync applied to the bridge's ledger, moved and burned on the sidechain, the burn checkpointed with
the real block hashes and exited on Layer 1; locked = minted - exited at each step, and the same for ETH
beside it."""

from __future__ import annotations

from eth_account import Account
from eth_utils import to_canonical_address

from l2.designs.sidechain import bridge
from l2.designs.sidechain.cluster import bridge_code
from l2.designs.sidechain.execution import Executor, Genesis
from l2.designs.sidechain.l1 import ETH
from l2.designs.sidechain.messages import StateSync

from .conftest import ETHER, SIDECHAIN_ID, SIGNERS

ALICE = Account.from_key(bytes([0x45]) * 32)
BOB = Account.from_key(bytes([0x46]) * 32)


def call_data(signature: str, *words: bytes | int) -> bytes:
    from eth_utils import keccak

    out = keccak(text=signature)[:4]
    for w in words:
        out += w.rjust(32, b"\0") if isinstance(w, bytes) else w.to_bytes(32, "big")
    return out


class Sidechain:
    """One executor standing in for the validators (test_bridge.py runs the same rules in processes)."""

    def __init__(self):
        gas_money = ((BOB.address, ETHER),)  # genesis ETH, not bridged: Bob pays gas with it
        self.executor = Executor.in_memory(Genesis(SIDECHAIN_ID, 1_700_000_000, gas_money, code=bridge_code()))
        self.t = 1_700_000_000
        self.nonces: dict[str, int] = {}

    def block(self, txs=(), syncs=()):
        self.t += 1
        executed = self.executor.build(list(txs), self.t, SIGNERS[0].address, tuple(syncs))
        with self.executor.committing(executed):
            pass
        return executed.evm_block

    def tx(self, account, data: bytes, value: int = 0) -> bytes:
        nonce = self.nonces.get(account.address, 0)
        self.nonces[account.address] = nonce + 1
        base = self.executor.head().base_fee_per_gas
        return bytes(account.sign_transaction({
            "to": bridge.BRIDGE_ADDRESS, "data": data, "value": value, "gas": 120_000, "nonce": nonce,
            "chainId": SIDECHAIN_ID, "maxFeePerGas": 2 * base + 1, "maxPriorityFeePerGas": 1}).raw_transaction)

    def storage(self, slot: int) -> int:
        state = self.executor.state_at(self.executor.head())
        return state.get_storage(to_canonical_address(bridge.BRIDGE_ADDRESS), slot)

    def minted(self, token: str) -> int:
        return self.storage(bridge.mapping_slot(to_canonical_address(token), bridge.SLOT_MINTED))

    def burned(self, token: str) -> int:
        return self.storage(bridge.mapping_slot(to_canonical_address(token), bridge.SLOT_BURNED))

    def token_balance(self, token: str, account: str) -> int:
        return self.storage(bridge.token_balance_slot(token, account))


def test_an_erc20_and_ether_go_through_the_bridge_and_back_with_locked_equal_to_minted_minus_exited(env):
    token = env.token.address
    env.l1.deposit_erc20(env.user, token, ALICE.address, 500 * ETHER)
    env.l1.deposit_ether(env.user, ALICE.address, 2 * ETHER)
    side = Sidechain()
    syncs = [StateSync(s.id, s.token, s.recipient, s.amount) for s in env.l1.state_syncs()]
    side.block(syncs=syncs)
    assert side.token_balance(token, ALICE.address) == 500 * ETHER
    assert env.l1.locked(token) == side.minted(token) - side.burned(token) == 500 * ETHER
    assert env.l1.locked(ETH) == side.minted(ETH) == 2 * ETHER

    alice = to_canonical_address(ALICE.address)
    side.block([side.tx(ALICE, call_data("transferToken(address,address,uint256)", to_canonical_address(token),
                                         to_canonical_address(BOB.address), 200 * ETHER))])
    assert side.token_balance(token, BOB.address) == 200 * ETHER
    side.block([side.tx(ALICE, call_data("withdrawToken(address,address,uint256)", to_canonical_address(token),
                                         alice, 300 * ETHER)),
                side.tx(ALICE, call_data("withdraw(address)", alice), value=ETHER)])
    # More than Bob holds cannot be burned: the transaction reverts and nothing moves.
    side.block([side.tx(BOB, call_data("withdrawToken(address,address,uint256)", to_canonical_address(token),
                                       alice, 201 * ETHER))])
    assert side.burned(token) == 300 * ETHER and side.token_balance(token, BOB.address) == 200 * ETHER

    height = side.executor.height
    burns = [b for h in range(1, height + 1) for b in side.executor.burns(side.executor.evm_block(h))]
    assert burns == [bridge.Burn(1, 3, token, ALICE.address, 300 * ETHER),
                     bridge.Burn(2, 3, ETH, ALICE.address, ETHER)]
    checkpoint = bridge.make_checkpoint(1, [side.executor.header(h).hash for h in range(1, height + 1)], burns)
    number = env.l1.epoch()
    env.l1.submit_checkpoint(env.chain.accounts[0], checkpoint, env.sign(checkpoint))
    before = env.token.functions.balanceOf(ALICE.address).call()
    for index in range(2):
        env.l1.exit(env.mallory, number, checkpoint, burns, index)
    assert env.token.functions.balanceOf(ALICE.address).call() - before == 300 * ETHER
    assert env.chain.balance(ALICE.address) == ETHER
    for asset in (token, ETH):  # Layer 1 locked = sidechain minted - exited, asset by asset
        assert env.l1.locked(asset) == side.minted(asset) - side.burned(asset)
    assert env.l1.locked(token) == 200 * ETHER and env.l1.locked(ETH) == ETHER
