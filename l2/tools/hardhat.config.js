// The Hardhat node the tests (and `l2.l1.hardhat`) start beside anvil: a second real JSON-RPC node.
// Only its network matters; nothing is compiled by Hardhat (our contracts are built by l2's compiler).
const os = require("os");
const path = require("path");

module.exports = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      chainId: 31337,
      // What l2's contracts are built for by default (EIP-2537's BLS precompiles are Prague's);
      // L2_HARDHAT_HARDFORK starts an older one.
      hardfork: process.env.L2_HARDHAT_HARDFORK || "prague",
      // anvil's accounts: the public test mnemonic, ten of them, 10,000 ETH each.
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
        accountsBalance: "10000000000000000000000",
      },
      mining: { auto: true, interval: 0 },
    },
  },
  paths: {
    // Its cache would default to l2/tools/cache, inside the package: keep anything it writes out of the tree.
    cache: path.join(os.tmpdir(), "l2-hardhat-cache"),
  },
};
