"""General state channels (Nitro / ForceMove style): any turn-based app off-chain, Layer 1 only to settle a
dispute or a silent participant.

`rules` (pure: the adjudicator's rules, each app's rule, payout, what to submit), `messages` (EIP-712
states), `party` (one participant), `storage` (SQLite, crash-safe), `watcher` (a service: checkpoints,
force-moves, challenges a silent opponent, pays out), `virtual` (ledger channels, guarantees, virtual
channels through a hub, `LedgerWatcher`), `guarantor` (a service: the hub's side of the virtual channels it
guarantees, from Layer-1 data alone), `transport` (loopback TCP), `bench`, `demo`,
`sandbox`, `workload`. Solidity: `contracts/statechannels/` (Adjudicator, RockPaperScissors,
SingleDirectionPayment, ConsensusApp). The story and the gas figures: `README.md` here.
"""
