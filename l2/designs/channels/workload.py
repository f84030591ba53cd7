"""How `l2 compare`'s workload runs through payment channels: a channel for every pair of participants
(there is no routing through a hub yet), each side's deposit split evenly over its channels; payments
off-chain; every channel closed cooperatively at the end, paid out at once."""

from __future__ import annotations

from itertools import combinations

from l2.designs.api import CompareEnv
from l2.designs.channels.party import STATUS_NONE, Party, pay


class ChannelsWorkload:
    def __init__(self, env: CompareEnv):
        self.env = env
        self.registry = env.chain.contract("ChannelRegistry", env.addresses["ChannelRegistry"])
        self.period = self.registry.functions.minChallengePeriod().call()
        self.holders = [self.registry.address]
        # A co-signed payment is final at once for both sides: either can settle it on Layer 1.
        self.payment_final_after = 0
        self.channels: dict[frozenset, dict[str, Party]] = {}

    def enter(self, deposits: dict[str, int]) -> None:
        chain, accounts = self.env.chain, self.env.participants
        names = sorted(deposits)
        for a, b in combinations(names, 2):
            share_a, share_b = (deposits[n] // (len(names) - 1) for n in (a, b))
            party_a, _ = Party.open(chain, self.registry, accounts[a], accounts[b].address,
                                    challenge_period=self.period, deposit=share_a)
            party_b = Party.join(chain, self.registry, accounts[b], party_a.params)
            party_b.deposit(share_b)
            party_a.refresh_funding()
            self.channels[frozenset((a, b))] = {a: party_a, b: party_b}

    def pay(self, payer: str, payee: str, amount: int) -> None:
        parties = self.channels[frozenset((payer, payee))]
        pay(parties[payer], parties[payee], amount)

    def settle(self) -> None:
        """Nothing: the co-signed states are the settlement, until someone closes."""

    def exit(self) -> None:
        for parties in self.channels.values():
            first, second = parties.values()
            second.accept_cooperative_close(first.propose_cooperative_close())
            first.refresh_status()  # the proposer learns from Layer 1 that the channel is gone

    def balance(self, name: str) -> int:
        """Its balance in every channel still open or closing (a settled channel holds nothing)."""
        return sum(parties[name].balance() for parties in self.channels.values()
                   if name in parties and parties[name].status != STATUS_NONE)
