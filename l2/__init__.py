"""l2: how Layer 2 works with Layer 1 on Ethereum, for real.

Payment channels and an optimistic rollup: Solidity contracts on a Layer-1
chain (embedded py-evm or any JSON-RPC node) and Python Layer-2 operators that
sign off-chain and settle on Layer 1.
"""

__version__ = "0.1.0"
