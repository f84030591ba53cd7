"""Two-party payment channels: deposits locked on Layer 1, balance proofs signed off-chain,
only the net result settled on Layer 1.

`rules` (pure protocol rules), `messages` (EIP-712 types), `party` (one channel end),
`storage` (SQLite, crash-safe), `watcher` (answers stale closes), `bench`, `demo`.
Solidity twin: `contracts/channels/ChannelRegistry.sol`.
"""
