"""`l2 compare` through state channels: payments on the single-direction payment app, one direct channel per
ordered pair of participants (money flows one way in each), concluded in one transaction each at the end.
Virtual channels through a hub are not built yet, so these are direct channels."""

from __future__ import annotations

import itertools
import random
from itertools import permutations

from l2.designs.api import CompareEnv
from l2.designs.statechannels.party import Party, conclude_together, connect, deliver, setup
from l2.designs.statechannels.rules import FixedPart

DURATION = 60
_count = itertools.count()


class StateChannelsWorkload:
    def __init__(self, env: CompareEnv):
        self.env = env
        chain = env.chain
        self.adjudicator = chain.contract("Adjudicator", env.addresses["Adjudicator"])
        self.app = chain.contract("SingleDirectionPayment", env.addresses["SingleDirectionPayment"])
        self.holders = [self.adjudicator.address]
        # A payment is final once the payer signed it: the payee holds a supported state paying it.
        self.payment_final_after = 0
        self.channels: dict[tuple[str, str], tuple[Party, Party]] = {}  # (payer, payee) -> (payer's, payee's)
        self.concluded = False

    def enter(self, deposits: dict[str, int]) -> None:
        chain, accounts = self.env.chain, self.env.participants
        names = sorted(deposits)
        for payer, payee in permutations(names, 2):
            share = deposits[payer] // (len(names) - 1)
            fixed = FixedPart((accounts[payer].address, accounts[payee].address),
                              chain.now() * 1000 + next(_count) % 1000, self.app.address, DURATION)
            rng = random.Random(0)
            parties = (connect(chain, self.adjudicator, fixed, "payment", accounts[payer], rng=rng),
                       connect(chain, self.adjudicator, fixed, "payment", accounts[payee], rng=rng))
            setup(list(parties), (share, 0))
            parties[0].deposit(share, 0)
            self.channels[(payer, payee)] = parties

    def pay(self, payer: str, payee: str, amount: int) -> None:
        mine, theirs = self.channels[(payer, payee)]
        deliver(mine.pay(amount), theirs)
        deliver(theirs.acknowledge(), mine)

    def settle(self) -> None:
        """Nothing: the signed states are the settlement, until someone concludes."""

    def exit(self) -> None:
        for parties in self.channels.values():
            conclude_together(list(parties))
            parties[1].conclude()
        self.concluded = True

    def balance(self, name: str) -> int:
        if self.concluded:
            return 0
        return sum(parties[0].latest.outcome[i] for (payer, payee), parties in self.channels.items()
                   for i, who in enumerate((payer, payee)) if who == name)
