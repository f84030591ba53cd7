"""L2 wallet: deposit on L1, sign transfers and withdrawals (EIP-712, compact signatures) for the sequencer."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from l2.designs.optimistic import txs
from l2.designs.optimistic.errors import UnknownAccount
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer, encode_submission
from l2.designs.optimistic.txs import Transfer, Withdrawal


class Wallet:
    def __init__(self, account: LocalAccount, rollup: RollupClient, sequencer: Sequencer):
        self.account = account
        self.rollup = rollup
        self.sequencer = sequencer

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def index(self) -> int:
        index = self.sequencer.state.index_of(self.address)
        if index is None:
            raise UnknownAccount(f"{self.address} has no L2 account yet; deposit first")
        return index

    def nonce(self) -> int:
        return self.sequencer.state.account(self.index).nonce

    def balance(self, token: int = 0) -> int:
        index = self.sequencer.state.index_of(self.address)
        return 0 if index is None else self.sequencer.state.account(index).balances[token]

    # --- Layer 1 ------------------------------------------------------------------------------

    def deposit(self, amount: int, token: int = 0):
        if token == 0:
            return self.rollup.deposit_eth(self.account, amount)
        return self.rollup.deposit_token(self.account, token, amount)

    def force_withdrawal(self, amount: int, token: int = 0):
        """Queue a withdrawal on L1 that batches must include even if the sequencer censors us."""
        return self.rollup.request_forced_withdrawal(self.account, self.index, token, amount)

    # --- Layer 2 ------------------------------------------------------------------------------

    def sign_transfer(self, to, amount: int, token: int = 0, fee: int = 0) -> Transfer:
        """`to`: an L2 account index, an address, or anything with an `.address` (an account, a wallet)."""
        if not isinstance(to, int):
            to = getattr(to, "address", to)
        to_index = to if isinstance(to, int) else self.sequencer.state.index_of(to)
        if to_index is None:
            raise UnknownAccount(f"{to} has no L2 account yet; it must deposit first")
        tx = Transfer(self.index, to_index, token, amount, fee)
        txs.check_fields(tx, need_nonce=False, signed=False)  # a typed error, not a raw one from hashing
        return txs.sign(tx, self.account.key, self.rollup.domain, self.nonce())

    def sign_withdraw(self, amount: int, token: int = 0, recipient: str | None = None, fee: int = 0) -> Withdrawal:
        tx = Withdrawal(self.index, recipient or self.address, token, amount, fee)
        txs.check_fields(tx, need_nonce=False, signed=False)
        return txs.sign(tx, self.account.key, self.rollup.domain, self.nonce())

    def transfer(self, to, amount: int, token: int = 0, fee: int = 0) -> int:
        return self.sequencer.submit(encode_submission(self.sign_transfer(to, amount, token, fee)))

    def withdraw(self, amount: int, token: int = 0, recipient: str | None = None, fee: int = 0) -> int:
        """Sign and submit a withdrawal to `recipient` on Layer 1 (default: ourselves), claimable once final."""
        return self.sequencer.submit(encode_submission(self.sign_withdraw(amount, token, recipient, fee)))
