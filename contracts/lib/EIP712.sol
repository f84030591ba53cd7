// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title EIP712
/// @notice The one EIP-712 domain builder and digest of the project. A domain binds a signature to
///         one chain and one contract; every signed struct also carries its own type (and a message
///         type where one struct could serve two purposes). Python twin: `l2/core/eip712.py`.
library EIP712 {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @notice The domain separator of the calling contract on the current chain.
    function domainSeparator(string memory name, string memory version) internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes(version)), block.chainid, address(this))
        );
    }

    /// @notice keccak256(0x1901 || domainSeparator || structHash): what a participant signs.
    function digest(bytes32 separator, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", separator, structHash));
    }
}
