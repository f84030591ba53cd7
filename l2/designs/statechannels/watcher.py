"""A participant's watcher: a service (`step() -> list[Event]`) that keeps its party safe on Layer 1.

Each round it reads the channel's record, asks `rules.decide` what to submit, and submits it with the
party's account:
- a challenge on a state older than the party's newest supported one: `checkpoint` with the newer state;
- a challenge on the newest state, when the party moves next: the party's move (`respond`), a force-move
  answered, so a challenge never wins by our silence;
- an opponent silent for `patience` seconds on its turn: `challenge` by itself, so a silent peer cannot
  lock the party's funds (users of Nitro's client complain that it never does this on its own);
- a final channel still holding what it owes: `transfer`;
- and a move the opponent made on Layer 1 (a `respond`) is taken into the party's states, so the game goes
  on off-chain from it.
"""

from __future__ import annotations

import threading

from l2.designs.statechannels.party import Party
from l2.designs.statechannels.rules import (
    SubmitChallenge,
    SubmitCheckpoint,
    SubmitRespond,
    SubmitTransfer,
    decide,
)
from l2.runtime.service import Event


class StateChannelWatcher:
    def __init__(self, party: Party, *, patience: int | None = None, name: str = "watcher",
                 lock: threading.RLock | None = None):
        self.party = party
        self.patience = patience
        self.name = name
        self.lock = lock or threading.RLock()
        self.actions: list[str] = []

    def step(self, urgent: bool = False) -> list[Event]:
        with self.lock:
            return self._step()

    def _step(self) -> list[Event]:
        party = self.party
        chain = party.chain
        events = [Event(self.name, f"learned turn {state.turn_num}, answered on Layer 1 by the opponent")
                  for state in party.learn_responses()]
        onchain = party.onchain()
        now = chain.now()
        supported = party.supported()
        newest = supported[0] if supported else None
        our_move = None
        recorded = onchain.recorded
        if (onchain.status(now) == "challenged" and recorded is not None and newest is not None
                and recorded == newest and party.my_turn):
            our_move = party.next_move()  # signs and stores our move before it goes on chain
        actions = decide(onchain, newest, party.me, party.fixed.n, now,
                         waiting_since=None if party.waiting_since is None else int(party.waiting_since),
                         patience=self.patience, our_move=our_move)
        for action in actions:
            if isinstance(action, SubmitCheckpoint):
                receipt = party.checkpoint()
                text = f"checkpointed turn {action.state.turn_num} over a challenge on turn {onchain.turn_num_record}"
            elif isinstance(action, SubmitRespond):
                receipt = party.respond(action.challenged, action.move)
                text = f"answered the challenge on turn {action.challenged.turn_num} with our move"
            elif isinstance(action, SubmitChallenge):
                receipt = party.challenge()
                text = f"the opponent is silent: challenged with turn {action.state.turn_num}"
            else:
                assert isinstance(action, SubmitTransfer)
                assert recorded is not None
                receipt = party.transfer(recorded, action.owed)
                text = f"paid out {list(action.owed)}"
            kind = type(action).__name__.removeprefix("Submit").lower()
            self.actions.append(kind)
            events.append(Event(self.name, f"{text} ({receipt.gasUsed:,} gas)"))
        return events
