"""Named Layer-1 accounts for the sandbox and the demo, on any chain.

A dev chain (embedded, anvil, hardhat) hands out rich accounts: the names take
them in order after the deployer. Any other node has only the deployer's key: the
names get keys derived from it (the same key always finds the same accounts, and
whatever they still hold), topped up from the deployer to a minimum, after a check
that the deployer can pay for all of it.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from l2.core.crypto import keccak
from l2.errors import InsufficientFundsError
from l2.l1.chain import Chain
from l2.output import ETHER, eth

DEV_UNIT = ETHER  # dev chains: amounts in ETH
NODE_UNIT = 10**15  # any other node: in 0.001 ETH, paid from the deployer's key


class NamedAccount(LocalAccount):
    """A local account that says whose it is at the console: `<alice 0x2B5A…>`."""

    def __init__(self, name: str, account: LocalAccount):
        super().__init__(account._key_obj, account._publicapi)
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} {self.address}>"


def is_dev(chain: Chain) -> bool:
    return chain.is_embedded or getattr(chain, "is_dev_node", False)


def unit_for(chain: Chain) -> int:
    """The amount a story counts in: generous on a dev chain, small on a real node."""
    return DEV_UNIT if is_dev(chain) else NODE_UNIT


def derive_account(base_key: bytes, name: str) -> LocalAccount:
    """The account `name` on a node without dev accounts: a key derived from the deployer's."""
    return Account.from_key(keccak(b"l2 sandbox account:" + name.encode() + b":" + bytes(base_key)))


def named_accounts(chain: Chain, names: tuple[str, ...], l1_minimum: int, reserve: int = 0) -> dict[str, NamedAccount]:
    """`names` -> accounts: a dev chain's own accounts after the deployer's, or derived keys topped up to
    `l1_minimum` ETH from the deployer, who must keep `reserve` (a bond, say) besides."""
    deployer = chain.accounts[0]
    if len(chain.accounts) > len(names):
        return {name: NamedAccount(name, chain.accounts[i + 1]) for i, name in enumerate(names)}
    accounts = {name: NamedAccount(name, derive_account(deployer.key, name)) for name in names}
    missing = {name: l1_minimum - chain.balance(a.address) for name, a in accounts.items()}
    top_up = sum(m for m in missing.values() if m > 0)
    available = chain.balance(deployer.address)
    if top_up + reserve > available:
        raise InsufficientFundsError(
            f"the deployer {deployer.address} has {eth(available)} but needs {eth(top_up + reserve)} "
            f"({eth(l1_minimum)} for each named account, and {eth(reserve)} to keep) plus gas"
        )
    for name, amount in missing.items():
        if amount > 0:
            chain.send_eth(deployer, accounts[name].address, amount)
    return accounts


USERS = ("alice", "bob", "carol", "dave")
CAST = ("challenger", *USERS)


def cast(chain: Chain, l1_minimum: int, reserve: int = 0, users: tuple[str, ...] = USERS) -> dict[str, NamedAccount]:
    """Everyone the demo, the sandbox and `l2 compare` work with, set up one way: `operator` (the deployer,
    who runs the operators and keeps `reserve` for their bonds), `challenger`, and the users, each holding at
    least `l1_minimum` on Layer 1 (`named_accounts`)."""
    operator = NamedAccount("operator", chain.accounts[0])
    return {"operator": operator, **named_accounts(chain, ("challenger", *users), l1_minimum, reserve=reserve)}
