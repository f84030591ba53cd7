"""A sidechain (Polygon PoS style, issue 14; not registered as a design yet): its own EVM chain run by
validators in separate processes that agree on blocks with Tendermint-style BFT consensus.

`messages` (EIP-712 proposals and votes, blocks), `consensus` (the rules, pure: `handle(state, event) ->
(state, actions)`), `execution` (py-evm over the validator's SQLite, deterministic), `node` (one validator
process: key, database, peers, JSON-RPC), `p2p` (loopback TCP), `rpc` (Ethereum JSON-RPC), `config`
(the cluster file), `cluster` (start, kill, restart and stop N validator processes), `byzantine` (a
validator's key signing conflicting votes, for the demo), `errors`.
"""
