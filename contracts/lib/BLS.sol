// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BLS
/// @notice BLS12-381 signatures in G1 and keys in G2 ("min-sig"), checked with Prague's EIP-2537
///         precompiles. The Python twin is `l2/core/bls.py`; `tests/test_bls.py` checks that both hash the
///         same message to the same point and accept and refuse the same signatures.
/// @dev Encodings are EIP-2537's: a G1 point is 128 bytes (x, y, each a 64-byte left-padded field
///      element), a G2 point 256 bytes (x.c0, x.c1, y.c0, y.c1). Calldata carries a signature as 96 bytes
///      x || y; `g1FromCalldata` adds the padding back. Hashing to G1 is RFC 9380's hash_to_curve
///      (expand_message_xmd with SHA-256, two field elements, simplified SWU): the precompile MAP_FP_TO_G1
///      maps and clears the cofactor, G1ADD adds the two images, MODEXP reduces the 64-byte strings mod p.
library BLS {
    address private constant MODEXP = address(0x05);
    address private constant G1ADD = address(0x0b);
    address private constant PAIRING = address(0x0f);
    address private constant MAP_FP_TO_G1 = address(0x10);

    /// @dev EIP-2537's pairing price: a check of n pairs costs 37,700 + 32,600 n.
    uint256 internal constant PAIRING_BASE_GAS = 37_700;
    uint256 internal constant PAIRING_PAIR_GAS = 32_600;
    uint256 internal constant PAIR_LENGTH = 384;

    bytes internal constant DST_SIGNATURE = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
    bytes internal constant DST_POSSESSION = "BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";

    /// @dev The field modulus p, left-padded to 64 bytes as MODEXP's modulus.
    bytes private constant P_PADDED = hex"000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";

    /// @dev -g2, the negated generator of G2: e(sig, -g2) * prod e(H(m_i), pk_i) == 1 checks a signature.
    bytes private constant NEG_G2 = hex"00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb80000000000000000000000000000000013e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e000000000000000000000000000000000d1b3cc2c7027888be51d9ef691d77bcb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa0000000000000000000000000000000013fa4d4a0ad8b1ce186ed5061789213d993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed";

    error PrecompileFailed(address precompile);
    error NotEnoughGasForPairing(uint256 needed);
    error BadPointLength(uint256 length);

    // ---------------------------------------------------------------- hashing to G1

    /// @dev RFC 9380 expand_message_xmd(message, dst, 128) with SHA-256 (four 32-byte blocks).
    function expandMessageXmd(bytes memory message, bytes memory dst) internal pure returns (bytes memory) {
        bytes memory dstPrime = bytes.concat(dst, bytes1(uint8(dst.length)));
        // Z_pad (64 zero bytes) || msg || I2OSP(128, 2) || I2OSP(0, 1) || DST_prime
        bytes32 b0 = sha256(bytes.concat(new bytes(64), message, hex"008000", dstPrime));
        bytes32 b1 = sha256(bytes.concat(b0, hex"01", dstPrime));
        bytes32 b2 = sha256(bytes.concat(b0 ^ b1, hex"02", dstPrime));
        bytes32 b3 = sha256(bytes.concat(b0 ^ b2, hex"03", dstPrime));
        bytes32 b4 = sha256(bytes.concat(b0 ^ b3, hex"04", dstPrime));
        return bytes.concat(b1, b2, b3, b4);
    }

    /// @dev hash_to_curve(message) for G1 under `dst`, as a 128-byte EIP-2537 point.
    function hashToG1(bytes memory message, bytes memory dst) internal view returns (bytes memory) {
        bytes memory uniform = expandMessageXmd(message, dst);
        bytes memory q0 = _call(MAP_FP_TO_G1, _reduce(uniform, 0), 128);
        bytes memory q1 = _call(MAP_FP_TO_G1, _reduce(uniform, 64), 128);
        return _call(G1ADD, bytes.concat(q0, q1), 128);
    }

    /// @dev The first 32 bytes of both domain tags, and their common last 11 bytes followed by the tag's
    ///      length (43), as DST_prime ends (RFC 9380 section 5.3.1).
    bytes32 private constant DST_SIGNATURE_HEAD = "BLS_SIG_BLS12381G1_XMD:SHA-256_S";
    bytes32 private constant DST_POSSESSION_HEAD = "BLS_POP_BLS12381G1_XMD:SHA-256_S";
    bytes12 private constant DST_TAIL = "SWU_RO_POP_\x2b";

    /// @dev hashToG1 of a 32-byte message (every message the rollup signs is an EIP-712 digest) under the
    ///      signature tag, or the possession tag if `possession`: the same point as `hashToG1`, computed in
    ///      scratch memory without allocating (a signature proof hashes 128 messages; each allocation
    ///      would stay, and memory is priced quadratically).
    function hashDigestToG1(bytes32 message, bool possession) internal view returns (bytes memory out) {
        bytes32 head = possession ? DST_POSSESSION_HEAD : DST_SIGNATURE_HEAD;
        bytes12 tail = DST_TAIL;
        uint256 pHi = P_HI;
        uint256 pLo = P_LO;
        bool ok = true;
        out = new bytes(128);
        assembly ("memory-safe") {
            let m := mload(0x40)
            // b0 = H(Z_pad || msg || I2OSP(128, 2) || I2OSP(0, 1) || DST_prime), 143 bytes
            mstore(m, 0)
            mstore(add(m, 0x20), 0)
            mstore(add(m, 0x40), message)
            mstore(add(m, 0x60), shl(232, 0x008000))
            mstore(add(m, 0x63), head)
            mstore(add(m, 0x83), tail)
            ok := and(ok, staticcall(gas(), 0x02, m, 143, 0x00, 0x20))
            let b0 := mload(0x00)
            // b_i = H((b0 xor b_(i-1)) || I2OSP(i, 1) || DST_prime), 77 bytes; b1..b4 kept at m + 0x100
            mstore(add(m, 0x21), head)
            mstore(add(m, 0x41), tail)
            let previous := 0
            for { let i := 1 } lt(i, 5) { i := add(i, 1) } {
                mstore(m, xor(b0, previous))
                mstore8(add(m, 0x20), i)
                ok := and(ok, staticcall(gas(), 0x02, m, 77, 0x00, 0x20))
                previous := mload(0x00)
                mstore(add(m, add(0xe0, mul(i, 0x20))), previous)
            }
            // u_j = OS2IP(b_(2j+1) || b_(2j+2)) mod p by MODEXP (exponent 1), 64 bytes each, then mapped to G1
            let q := add(m, 0x200)
            for { let j := 0 } lt(j, 2) { j := add(j, 1) } {
                mstore(q, 64)
                mstore(add(q, 0x20), 1)
                mstore(add(q, 0x40), 64)
                mstore(add(q, 0x60), mload(add(m, add(0x100, mul(j, 0x40)))))
                mstore(add(q, 0x80), mload(add(m, add(0x120, mul(j, 0x40)))))
                mstore8(add(q, 0xa0), 1)
                mstore(add(q, 0xa1), pHi)
                mstore(add(q, 0xc1), pLo)
                ok := and(ok, staticcall(gas(), 0x05, q, 225, add(q, 0x100), 64))
                ok := and(ok, staticcall(gas(), 0x10, add(q, 0x100), 64, add(m, mul(j, 0x80)), 128))
            }
            ok := and(ok, staticcall(gas(), 0x0b, m, 256, add(out, 0x20), 128))
        }
        if (!ok) revert PrecompileFailed(MAP_FP_TO_G1);
    }

    /// @dev The 64 bytes of `uniform` at `offset` as an integer mod p, padded to 64 bytes (MODEXP with
    ///      exponent 1 is the cheapest 512-bit reduction on the EVM).
    function _reduce(bytes memory uniform, uint256 offset) private view returns (bytes memory) {
        bytes memory chunk = new bytes(64);
        assembly {
            mcopy(add(chunk, 32), add(add(uniform, 32), offset), 64)
        }
        return _call(MODEXP, bytes.concat(bytes32(uint256(64)), bytes32(uint256(1)), bytes32(uint256(64)), chunk,
            hex"01", P_PADDED), 64);
    }

    function _call(address precompile, bytes memory input, uint256 outLength) private view returns (bytes memory out) {
        bool ok;
        (ok, out) = precompile.staticcall(input);
        if (!ok || out.length != outLength) revert PrecompileFailed(precompile);
    }

    // ---------------------------------------------------------------- points

    /// @dev p = P_HI * 2**256 + P_LO; (p + 1) / 4 is the square-root exponent (p = 3 mod 4).
    uint256 private constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;
    bytes private constant SQRT_EXPONENT = hex"0680447a8e5ff9a692c6e9ed90d2eb35d91dd2e13ce144afd9cc34a83dac3d8907aaffffac54ffffee7fbfffffffeaab";
    bytes private constant P_48 = hex"1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";

    /// @dev A compressed G1 point (48 bytes, ZCash flags) as a 128-byte EIP-2537 point, or ok = false if the
    ///      bytes are no point at all: compression flag missing, the infinity flag (no signature is the point
    ///      at infinity), x >= p, or x^3 + 4 without a square root. The subgroup is left to the pairing.
    ///      A commitment carries its aggregate compressed (48 bytes instead of 96) and the contract, not
    ///      the prover, finds y: so a bad signature cannot hide behind a prover unable to supply a y.
    function decompressG1(bytes calldata compressed) internal view returns (bool ok, bytes memory point) {
        if (compressed.length != 48) revert BadPointLength(compressed.length);
        uint8 flags = uint8(compressed[0]) >> 5;
        if (flags & 4 == 0 || flags & 2 != 0) return (false, point);
        uint256 xHi = uint128(bytes16(compressed[0:16])) & ((uint256(1) << 125) - 1);
        uint256 xLo = uint256(bytes32(compressed[16:48]));
        if (xHi > P_HI || (xHi == P_HI && xLo >= P_LO)) return (false, point);
        bytes memory x = abi.encodePacked(uint128(xHi), xLo);
        (uint256 vHi, uint256 vLo) = _split(_modexp(x, hex"03"));
        // v = x^3 + 4 (mod p): add with carry, then subtract p once if needed.
        unchecked {
            uint256 lo = vLo + 4;
            if (lo < vLo) ++vHi;
            vLo = lo;
            if (vHi > P_HI || (vHi == P_HI && vLo >= P_LO)) (vHi, vLo) = _sub(vHi, vLo, P_HI, P_LO);
        }
        bytes memory v = abi.encodePacked(uint128(vHi), vLo);
        bytes memory y = _modexp(v, SQRT_EXPONENT);
        if (keccak256(_modexp(y, hex"02")) != keccak256(v)) return (false, point);
        (uint256 yHi, uint256 yLo) = _split(y);
        bool larger = _greaterThanHalf(yHi, yLo);
        if (larger != (flags & 1 == 1)) {
            if (yHi == 0 && yLo == 0) return (false, point);
            (yHi, yLo) = _sub(P_HI, P_LO, yHi, yLo);
        }
        return (true, abi.encodePacked(bytes16(0), uint128(xHi), xLo, bytes16(0), uint128(yHi), yLo));
    }

    function _modexp(bytes memory base48, bytes memory exponent) private view returns (bytes memory) {
        return _call(MODEXP, abi.encodePacked(uint256(48), uint256(exponent.length), uint256(48), base48, exponent,
            P_48), 48);
    }

    function _split(bytes memory value48) private pure returns (uint256 hi, uint256 lo) {
        assembly {
            hi := shr(128, mload(add(value48, 32)))
            lo := mload(add(value48, 48))
        }
    }

    function _sub(uint256 aHi, uint256 aLo, uint256 bHi, uint256 bLo) private pure returns (uint256, uint256) {
        unchecked {
            uint256 borrow = aLo < bLo ? 1 : 0;
            return (aHi - bHi - borrow, aLo - bLo);
        }
    }

    /// @dev y > (p - 1) / 2, i.e. 2y > p - 1, i.e. 2y >= p (ZCash's sign: the larger of y and p - y).
    function _greaterThanHalf(uint256 yHi, uint256 yLo) private pure returns (bool) {
        uint256 dHi = (yHi << 1) | (yLo >> 255);
        uint256 dLo = yLo << 1;
        return dHi > P_HI || (dHi == P_HI && dLo >= P_LO);
    }


    /// @dev 96 calldata bytes x || y as a 128-byte EIP-2537 G1 point (no check: the pairing checks it).
    function g1FromCalldata(bytes calldata xy) internal pure returns (bytes memory) {
        if (xy.length != 96) revert BadPointLength(xy.length);
        return bytes.concat(bytes16(0), xy[0:48], bytes16(0), xy[48:96]);
    }

    /// @dev Whether a 256-byte G2 encoding is the point at infinity (all zeros), which signs anything.
    function isInfinityG2(bytes memory point) internal pure returns (bool) {
        if (point.length != 256) revert BadPointLength(point.length);
        for (uint256 i; i < 256; i += 32) {
            if (bytes32(_word(point, i)) != bytes32(0)) return false;
        }
        return true;
    }

    function _word(bytes memory data, uint256 at) private pure returns (bytes32 w) {
        assembly {
            w := mload(add(add(data, 32), at))
        }
    }

    // ---------------------------------------------------------------- pairings

    /// @dev Room for the pairing check of a signature over `n` messages: the pair (sig, -g2) first, then
    ///      one (H(m_i), pk_i) per message, written in place by `setPair` (concatenating in a loop would
    ///      copy the growing buffer every time and pay for memory quadratically).
    function newPairs(bytes memory signature128, uint256 n) internal pure returns (bytes memory pairs) {
        pairs = new bytes(PAIR_LENGTH * (n + 1));
        setPair(pairs, 0, signature128, NEG_G2);
    }

    /// @dev setPair with the G2 point read straight from calldata (keys arrive concatenated, 256 bytes each).
    function setPairFromCalldata(bytes memory pairs, uint256 index, bytes memory g1, bytes calldata g2) internal pure {
        if (g1.length != 128) revert BadPointLength(g1.length);
        if (g2.length != 256) revert BadPointLength(g2.length);
        assembly {
            let at := add(add(pairs, 32), mul(index, 384))
            mcopy(at, add(g1, 32), 128)
            calldatacopy(add(at, 128), g2.offset, 256)
        }
    }

    function setPair(bytes memory pairs, uint256 index, bytes memory g1, bytes memory g2) internal pure {
        if (g1.length != 128) revert BadPointLength(g1.length);
        if (g2.length != 256) revert BadPointLength(g2.length);
        assembly {
            let at := add(add(pairs, 32), mul(index, 384))
            mcopy(at, add(g1, 32), 128)
            mcopy(add(at, 128), add(g2, 32), 256)
        }
    }

    /// @dev Run the pairing check on concatenated pairs. `valid` is false when the precompile refused the
    ///      input (a point off the curve or outside its subgroup): that is a fact about the input only
    ///      because the call is given all the gas the precompile's price asks for; a caller short of gas
    ///      reverts instead, so nobody can make an honest signature look invalid by starving the call.
    function tryPairing(bytes memory pairs) internal view returns (bool valid, bool equal) {
        uint256 needed = PAIRING_BASE_GAS + PAIRING_PAIR_GAS * (pairs.length / PAIR_LENGTH);
        // The 63/64 rule: a call receives at most 63/64 of what is left.
        if (gasleft() < needed + needed / 63 + 2_000) revert NotEnoughGasForPairing(needed);
        uint256 result;
        assembly {
            let out := mload(0x40)
            valid := staticcall(needed, 0x0f, add(pairs, 32), mload(pairs), out, 32)
            if valid { result := mload(out) }
        }
        equal = valid && result == 1;
    }

    /// @dev Whether `proof` (48-byte compressed G1) proves possession of `publicKey` (256-byte G2) over the
    ///      32-byte `message`: false for the key at infinity (it would accept the infinity "signature" for
    ///      any message), for a proof that is no point, or if the pairing refuses either point.
    function verifyPossession(bytes calldata publicKey, bytes32 message, bytes calldata proof)
        internal
        view
        returns (bool)
    {
        if (publicKey.length != 256 || isInfinityG2(publicKey)) return false;
        (bool ok, bytes memory sig) = decompressG1(proof);
        if (!ok) return false;
        bytes memory pairs = newPairs(sig, 1);
        setPairFromCalldata(pairs, 1, hashDigestToG1(message, true), publicKey);
        (bool valid, bool equal) = tryPairing(pairs);
        return valid && equal;
    }
}
