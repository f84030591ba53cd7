"""`l2 compare` through the sidechain: each participant deposits into the DepositManager, the payments are
transfers on the sidechain (sent to a validator's JSON-RPC, final once their block is committed), and at
exit each burns everything it holds on the sidechain's bridge and proves the burn on Layer 1 once the
validators have checkpointed it.

Sidechain gas is paid in the sidechain's own ETH (given at genesis, apart from the bridged funds), so the
bridged amounts move to the wei. The validators' Layer-1 accounts are among the holders: they pay for the
checkpoints, and their gas money returns to the operator when the session closes.
"""

from __future__ import annotations

from l2.designs.api import CompareEnv
from l2.designs.sidechain.session import SIDECHAIN_GAS_MONEY, Sidechain

VALIDATORS = 2


class SidechainWorkload:
    def __init__(self, env: CompareEnv):
        self.env = env
        alloc: dict[str, int] = {a.address: SIDECHAIN_GAS_MONEY for a in env.participants.values()}
        self.sc = Sidechain(env.chain, env.workdir / "sidechain", addresses=env.addresses, validators=VALIDATORS,
                            funder=env.operator, alloc=alloc,
                            signer_gas=min(10**17, env.chain.balance(env.operator.address) // 1000))
        self.holders = [self.sc.l1.deposit_manager.address, *(s.address for s in self.sc.signers)]
        self.payment_final_after = 0  # a committed sidechain block is never reverted
        self.burn_receipts: dict[str, dict] = {}
        self.final: dict[str, int] | None = None  # what each held inside once its burn was committed

    def enter(self, deposits: dict[str, int]) -> None:
        for name, amount in deposits.items():
            self.sc.deposit(self.env.participants[name], amount)
        self.sc.wait_deposits()

    def pay(self, payer: str, payee: str, amount: int) -> None:
        self.sc.send(self.env.participants[payer], self.env.participants[payee].address, amount)

    def settle(self) -> None:
        """The payments committed on the sidechain (the checkpoints come by themselves)."""
        self.sc.wait_sent()

    def exit(self) -> None:
        try:
            burning = {}
            for name, account in self.env.participants.items():
                held = self.balance(name)
                if held:
                    burning[name] = held
                    self.sc.withdraw(account, held)
            receipts = self.sc.wait_sent()
            self.final = {name: self.balance(name) for name in self.env.participants}
            for name, receipt in zip(burning, receipts, strict=True):
                self.sc.exit(self.env.participants[name], receipt)
        finally:
            self.sc.close()

    def balance(self, name: str) -> int:
        if self.final is not None:
            return self.final[name]
        address = self.env.participants[name].address
        return self.sc.balance(address) - (SIDECHAIN_GAS_MONEY - self.sc.fees.get(address, 0))
