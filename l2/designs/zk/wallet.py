"""A user of the zk-rollup: a Layer-1 account, a BabyJubJub key derived from it, and an account index."""

from __future__ import annotations

from l2.core.crypto import keccak
from l2.designs.zk import babyjub
from l2.designs.zk.errors import TxRejected
from l2.designs.zk.l1 import ZkRollupClient
from l2.designs.zk.operator import Operator
from l2.designs.zk.state import pk_hash, transfer


class Wallet:
    def __init__(self, account, rollup: ZkRollupClient, operator: Operator, index: int = 0):
        self.account = account
        self.rollup = rollup
        self.operator = operator
        # The Layer-2 key is derived from the Layer-1 key: one secret to keep, distinct keys per purpose.
        self.key = keccak(b"zk-rollup BabyJubJub key" + bytes(account.key))
        self.pub = babyjub.public_key(self.key)
        self.index = index

    @property
    def address(self) -> str:
        return self.account.address

    def register(self, amount: int):
        """Open an account through the Layer-1 queue with `amount` in it (the next batch includes it)."""
        self.index, receipt = self.rollup.register(self.account, pk_hash(self.pub), amount)
        return receipt

    def deposit(self, amount: int):
        return self.rollup.deposit(self.account, self.index, amount)

    def pay(self, to: Wallet | int, amount: int, fee: int = 0) -> None:
        receiver = to if isinstance(to, int) else to.index
        if not self.index or (not isinstance(to, int) and not to.index):
            raise TxRejected("register both accounts first")
        self.operator.submit(transfer(self.key, self.rollup.domain, self.index, receiver, amount, fee,
                                      self.operator.nonce(self.index)))

    def withdraw(self, amount: int, fee: int = 0) -> None:
        """A transfer to account 0: paid on Layer 1 as soon as its batch is verified (then `claim`)."""
        self.pay(0, amount, fee)

    def claim(self):
        return self.rollup.claim(self.account)

    def balance(self) -> int:
        return self.operator.balance(self.index) if self.index else 0
