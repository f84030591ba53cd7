// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Groth16Verifier
/// @notice Checks a BN254 Groth16 proof with one public input against the verification key given at
///         deployment (our own, in place of a per-key generated contract: the key is the constructor's
///         argument, taken from the prover's snarkjs-format `verification_key.json`).
/// @dev A failing precompile call reverts (`PrecompileFailed`) instead of reading as "invalid proof": with
///      too little gas the pairing precompile fails, and a verifier that then returns false makes gas
///      estimation settle on a limit that rejects every valid proof.
contract Groth16Verifier {
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    error PrecompileFailed(uint8 precompile);
    error NotInField(uint256 value);

    uint256 internal immutable alphaX;
    uint256 internal immutable alphaY;
    uint256 internal immutable beta0;
    uint256 internal immutable beta1;
    uint256 internal immutable beta2;
    uint256 internal immutable beta3;
    uint256 internal immutable gamma0;
    uint256 internal immutable gamma1;
    uint256 internal immutable gamma2;
    uint256 internal immutable gamma3;
    uint256 internal immutable delta0;
    uint256 internal immutable delta1;
    uint256 internal immutable delta2;
    uint256 internal immutable delta3;
    uint256 internal immutable ic0X;
    uint256 internal immutable ic0Y;
    uint256 internal immutable ic1X;
    uint256 internal immutable ic1Y;

    /// @param vk alpha (x, y), then beta, gamma, delta in the precompile's G2 order (x.c1, x.c0, y.c1, y.c0),
    ///        then IC[0] (x, y) and IC[1] (x, y).
    constructor(uint256[18] memory vk) {
        (alphaX, alphaY) = (vk[0], vk[1]);
        (beta0, beta1, beta2, beta3) = (vk[2], vk[3], vk[4], vk[5]);
        (gamma0, gamma1, gamma2, gamma3) = (vk[6], vk[7], vk[8], vk[9]);
        (delta0, delta1, delta2, delta3) = (vk[10], vk[11], vk[12], vk[13]);
        (ic0X, ic0Y, ic1X, ic1Y) = (vk[14], vk[15], vk[16], vk[17]);
    }

    /// @notice True when `proof` (A.x, A.y, B in G2 precompile order, C.x, C.y) proves `input`.
    function verifyProof(uint256[8] calldata proof, uint256 input) external view returns (bool) {
        if (input >= R) revert NotInField(input);
        for (uint256 i = 0; i < 8; ++i) {
            if (proof[i] >= Q) revert NotInField(proof[i]);
        }
        (uint256 x, uint256 y) = _ecMul(ic1X, ic1Y, input);
        (x, y) = _ecAdd(ic0X, ic0Y, x, y);
        // e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
        uint256 negAY = proof[1] == 0 ? 0 : Q - proof[1];
        bytes memory pairs = abi.encode(
            proof[0], negAY, proof[2], proof[3], proof[4], proof[5],
            alphaX, alphaY, beta0, beta1, beta2, beta3
        );
        pairs = bytes.concat(pairs, abi.encode(
            x, y, gamma0, gamma1, gamma2, gamma3,
            proof[6], proof[7], delta0, delta1, delta2, delta3
        ));
        (bool ok, bytes memory out) = address(0x08).staticcall(pairs);
        if (!ok || out.length != 32) revert PrecompileFailed(8);
        return abi.decode(out, (uint256)) == 1;
    }

    function _ecMul(uint256 px, uint256 py, uint256 s) private view returns (uint256, uint256) {
        (bool ok, bytes memory out) = address(0x07).staticcall(abi.encode(px, py, s));
        if (!ok || out.length != 64) revert PrecompileFailed(7);
        return abi.decode(out, (uint256, uint256));
    }

    function _ecAdd(uint256 ax, uint256 ay, uint256 bx, uint256 by) private view returns (uint256, uint256) {
        (bool ok, bytes memory out) = address(0x06).staticcall(abi.encode(ax, ay, bx, by));
        if (!ok || out.length != 64) revert PrecompileFailed(6);
        return abi.decode(out, (uint256, uint256));
    }
}
