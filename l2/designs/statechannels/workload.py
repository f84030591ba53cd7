"""`l2 compare` through state channels: payments through virtual channels over a hub (the operator).

Each participant opens one ledger channel with the hub (its deposit, and the hub's share that funds the
payments it will receive); for each ordered pair a virtual channel on the single-direction payment app is
set up and funded by a guarantee in each of the two ledgers, off-chain. A payment is the payer's move and
the payee's acknowledgement in that virtual channel: the hub sees nothing of it. At exit every virtual
channel is closed off-chain (both ledgers release its guarantee by its final outcome) and each ledger is
concluded with one transaction.
"""

from __future__ import annotations

import itertools
from itertools import permutations

from l2.designs.api import CompareEnv
from l2.designs.statechannels.party import Party, connect, deliver, setup
from l2.designs.statechannels.rules import FixedPart
from l2.designs.statechannels.virtual import Hub, Ledger, close_virtual, conclude_ledger, fund_virtual, open_ledger

DURATION = 60
_count = itertools.count()


class StateChannelsWorkload:
    def __init__(self, env: CompareEnv):
        self.env = env
        chain = env.chain
        self.adjudicator = chain.contract("Adjudicator", env.addresses["Adjudicator"])
        self.payment_app = chain.contract("SingleDirectionPayment", env.addresses["SingleDirectionPayment"])
        self.ledger_app = chain.contract("ConsensusApp", env.addresses["ConsensusApp"])
        self.holders = [self.adjudicator.address]
        # A payment is final once the payer signed it: the payee holds a supported state paying it, and the
        # guarantee in its ledger pays it whatever the payer or the hub do.
        self.payment_final_after = 0
        self.ledgers: dict[str, tuple[Ledger, Ledger]] = {}  # name -> (its end, the hub's end)
        self.channels: dict[tuple[str, str], tuple[Party, Party]] = {}  # (payer, payee) -> their two ends
        # (payer, payee) -> the hub between their ledgers: one for the channel's life, so that it keeps the
        # setup it checked at funding and marks the channel released at exit.
        self.hubs: dict[tuple[str, str], Hub] = {}
        self.concluded = False

    def _nonce(self) -> int:
        return self.env.chain.now() * 1000 + next(_count) % 1000

    def enter(self, deposits: dict[str, int]) -> None:
        chain, accounts, hub = self.env.chain, self.env.participants, self.env.operator
        names = sorted(deposits)
        share = {name: deposits[name] // (len(names) - 1) for name in names}  # each outgoing virtual channel's
        for name in names:
            hub_side = sum(share[other] for other in names if other != name)  # funds what `name` may receive
            self.ledgers[name] = open_ledger(chain, self.adjudicator, self.ledger_app, accounts[name], hub,
                                             (deposits[name], hub_side), self._nonce(), DURATION)
        for payer, payee in permutations(names, 2):
            fixed = FixedPart((accounts[payer].address, accounts[payee].address), self._nonce(),
                              self.payment_app.address, DURATION)
            ends = (connect(chain, self.adjudicator, fixed, "payment", accounts[payer]),
                    connect(chain, self.adjudicator, fixed, "payment", accounts[payee]))
            setup(list(ends), (share[payer], 0))
            fund_virtual(self.ledgers[payer][0], self._hub(payer, payee), self.ledgers[payee][0], *ends)
            self.channels[(payer, payee)] = ends

    def _hub(self, payer: str, payee: str) -> Hub:
        if (payer, payee) not in self.hubs:
            self.hubs[(payer, payee)] = Hub(self.ledgers[payer][1], self.ledgers[payee][1],
                                            payment_app=self.payment_app.address, max_challenge_duration=DURATION)
        return self.hubs[(payer, payee)]

    def pay(self, payer: str, payee: str, amount: int) -> None:
        mine, theirs = self.channels[(payer, payee)]
        deliver(mine.pay(amount), theirs)
        deliver(theirs.acknowledge(), mine)

    def settle(self) -> None:
        """Nothing: the signed states are the settlement, until the ledgers conclude."""

    def exit(self) -> None:
        for (payer, payee), ends in self.channels.items():
            close_virtual(self.ledgers[payer][0], self._hub(payer, payee), self.ledgers[payee][0], *ends)
        for mine, hubs in self.ledgers.values():
            conclude_ledger(mine, hubs)
        self.concluded = True

    def balance(self, name: str) -> int:
        if self.concluded:
            return 0
        mine = self.ledgers[name][0]
        own = mine.newest.outcome[mine.me]
        return own + sum(ends[0].newest.outcome[i] for pair, ends in self.channels.items()
                         for i, who in enumerate(pair) if who == name)
