// SPDX-License-Identifier: GPL-3.0-or-later
// The zk-rollup's batch circuit. GPL-3.0 because it includes circomlib (see circuits/zk/README.md).
//
// One batch: up to nL1 entries of the Layer-1 queue (registrations and deposits, in queue order), then
// nTx Layer-2 transactions (transfers; a transfer to account 0 is a withdrawal to Layer 1; an all-zero slot
// is empty), then the fees to the operator's account. The only public signal is
//   sha256(oldRoot | newRoot | domain | feeIndex | entries | txs) mod r,
// recomputed by ZkRollup.sol from what it publishes, so a proof is bound to exactly that data.
pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/babyjub.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/sha256/sha256.circom";

// One leaf of a 4-ary Poseidon tree (depth/2 levels, node = Poseidon(c0, c1, c2, c3)) replaced: the old leaf
// is proven under oldRoot and newRoot is the same path with the new leaf. A 4-ary node costs 297 constraints
// for 2 index bits where a binary one costs 240 for 1 (circomlib Poseidon(4) vs Poseidon(2)), so the tree is
// 4-ary. children[l] are the four children on the path at level l (level 0: leaves) as they are before the
// update; the one at the leaf's position must be the old path's node, the other three are its siblings. The
// old and new paths share those children, so a level costs its two hashes and 6 constraints of selection.
// bits: the index, least significant first, range-checked by the caller.
template LeafUpdate(depth) {
    var levels = depth \ 2;
    signal input bits[depth];
    signal input children[levels][4];
    signal input oldLeaf;
    signal input newLeaf;
    signal output oldRoot;
    signal output newRoot;

    signal old[levels + 1];
    signal new[levels + 1];
    signal m0[levels];
    signal m1[levels];
    signal delta[levels];
    signal hi[levels];
    signal lo0[levels];
    signal lo1[levels];
    component hOld[levels];
    component hNew[levels];
    old[0] <== oldLeaf;
    new[0] <== newLeaf;
    for (var l = 0; l < levels; l++) {
        var b0 = bits[2 * l];
        var b1 = bits[2 * l + 1];
        // The child at position b0 + 2 b1 is the old path's node.
        m0[l] <== children[l][0] + b0 * (children[l][1] - children[l][0]);
        m1[l] <== children[l][2] + b0 * (children[l][3] - children[l][2]);
        old[l] === m0[l] + b1 * (m1[l] - m0[l]);
        hOld[l] = Poseidon(4);
        for (var k = 0; k < 4; k++) {
            hOld[l].inputs[k] <== children[l][k];
        }
        old[l + 1] <== hOld[l].out;
        // The new path: the same children with delta added at that position only.
        delta[l] <== new[l] - old[l];
        hi[l] <== b1 * delta[l];              // delta if the position is 2 or 3
        lo0[l] <== b0 * (delta[l] - hi[l]);   // position 1
        lo1[l] <== b0 * hi[l];                // position 3
        hNew[l] = Poseidon(4);
        hNew[l].inputs[0] <== children[l][0] + delta[l] - hi[l] - lo0[l];
        hNew[l].inputs[1] <== children[l][1] + lo0[l];
        hNew[l].inputs[2] <== children[l][2] + hi[l] - lo1[l];
        hNew[l].inputs[3] <== children[l][3] + lo1[l];
        new[l + 1] <== hNew[l].out;
    }
    oldRoot <== old[levels];
    newRoot <== new[levels];
}

// An account index: 24 bits (3 bytes of public data, most significant first for SHA-256) whose top
// 24 - depth bits are zero, so the index is inside the tree. bits: least significant first.
template Index(depth) {
    signal input in;
    signal output bits[24];
    component n = Num2Bits(24);
    n.in <== in;
    for (var i = 0; i < 24; i++) {
        if (i >= depth) {
            n.out[i] === 0;
        }
        bits[i] <== n.out[i];
    }
}

// Account leaf: Poseidon(pkHash, balance, nonce); pkHash = Poseidon(Ax, Ay), 0 for an empty account.
template Leaf() {
    signal input pk;
    signal input balance;
    signal input nonce;
    signal output out;
    component h = Poseidon(3);
    h.inputs[0] <== pk;
    h.inputs[1] <== balance;
    h.inputs[2] <== nonce;
    out <== h.out;
}

// A decimal float: f = mantissa << 5 | exponent, value = mantissa * 10^exponent. bits: f's, LSB first.
template Float(mantissaBits) {
    signal input f;
    signal output value;
    signal output bits[mantissaBits + 5];

    component n = Num2Bits(mantissaBits + 5);
    n.in <== f;
    signal pow[6];
    pow[0] <== 1;
    for (var i = 0; i < 5; i++) {
        pow[i + 1] <== pow[i] * (1 + n.out[i] * (10 ** (2 ** i) - 1));
    }
    var mantissa = 0;
    for (var j = 0; j < mantissaBits; j++) {
        mantissa += n.out[5 + j] * (2 ** j);
    }
    value <== mantissa * pow[5];
    for (var k = 0; k < mantissaBits + 5; k++) {
        bits[k] <== n.out[k];
    }
}

// One queue entry: a registration (pk != 0: the empty leaf at `index` gets pk and the amount) or a
// deposit (pk = 0: a registered leaf gets the amount). A disabled slot is all zeros and changes nothing.
template QueueEntry(depth) {
    var levels = depth \ 2;
    signal input oldRoot;
    signal input enabled;
    signal input index;
    signal input pk;
    signal input amountF;
    signal input leafPk;
    signal input leafBalance;
    signal input leafNonce;
    signal input children[levels][4];
    signal output newRoot;
    signal output indexBits[24];
    signal output pkBits[254];
    signal output amountBits[40];

    enabled * (enabled - 1) === 0;
    (1 - enabled) * index === 0;
    (1 - enabled) * pk === 0;
    (1 - enabled) * amountF === 0;

    component amount = Float(35);
    amount.f <== amountF;
    component idx = Index(depth);
    idx.in <== index;
    component pkb = Num2Bits_strict();
    pkb.in <== pk;

    component pkZero = IsZero();
    pkZero.in <== pk;
    signal isRegistration <== 1 - pkZero.out;
    isRegistration * leafPk === 0;
    isRegistration * leafBalance === 0;
    isRegistration * leafNonce === 0;
    component leafPkZero = IsZero();
    leafPkZero.in <== leafPk;
    (enabled - isRegistration) * leafPkZero.out === 0;

    signal newBalance <== leafBalance + amount.value;
    component range = Num2Bits(128);
    range.in <== newBalance;

    component oldLeaf = Leaf();
    oldLeaf.pk <== leafPk;
    oldLeaf.balance <== leafBalance;
    oldLeaf.nonce <== leafNonce;
    component newLeaf = Leaf();
    newLeaf.pk <== leafPk + pk;
    newLeaf.balance <== newBalance;
    newLeaf.nonce <== leafNonce;

    component update = LeafUpdate(depth);
    for (var i = 0; i < depth; i++) {
        update.bits[i] <== idx.bits[i];
    }
    for (var l = 0; l < levels; l++) {
        for (var k = 0; k < 4; k++) {
            update.children[l][k] <== children[l][k];
        }
    }
    update.oldLeaf <== oldLeaf.out;
    update.newLeaf <== newLeaf.out;
    update.oldRoot === oldRoot;
    newRoot <== update.newRoot;
    for (var i = 0; i < 24; i++) {
        indexBits[i] <== idx.bits[i];
    }
    for (var i = 0; i < 254; i++) {
        pkBits[i] <== pkb.out[i];
    }
    for (var i = 0; i < 40; i++) {
        amountBits[i] <== amount.bits[i];
    }
}

// One Layer-2 transaction signed with EdDSA-Poseidon over Poseidon(domain, from, to, amountF, feeF, nonce).
// from = 0: an empty slot (everything zero). to = 0: a withdrawal to the sender's Layer-1 address.
template Transaction(depth) {
    var levels = depth \ 2;
    signal input oldRoot;
    signal input domain;
    signal input from;
    signal input to;
    signal input amountF;
    signal input feeF;
    signal input nonce;
    signal input Ax;
    signal input Ay;
    signal input S;
    signal input R8x;
    signal input R8y;
    signal input fromPk;
    signal input fromBalance;
    signal input fromNonce;
    signal input fromChildren[levels][4];
    signal input toPk;
    signal input toBalance;
    signal input toNonce;
    signal input toChildren[levels][4];
    signal output newRoot;
    signal output fee;
    signal output fromBits[24];
    signal output toBits[24];
    signal output amountBits[40];
    signal output feeBits[16];

    component fromZero = IsZero();
    fromZero.in <== from;
    signal enabled <== 1 - fromZero.out;
    (1 - enabled) * to === 0;
    (1 - enabled) * amountF === 0;
    (1 - enabled) * feeF === 0;
    component toZero = IsZero();
    toZero.in <== to;
    signal isWithdrawal <== enabled * toZero.out;

    component amount = Float(35);
    amount.f <== amountF;
    component feeValue = Float(11);
    feeValue.f <== feeF;
    component fb = Index(depth);
    fb.in <== from;
    component tb = Index(depth);
    tb.in <== to;

    // The signer's key is the account's: pkHash = Poseidon(Ax, Ay); the nonce is the account's.
    component pk = Poseidon(2);
    pk.inputs[0] <== Ax;
    pk.inputs[1] <== Ay;
    enabled * (pk.out - fromPk) === 0;
    enabled * (nonce - fromNonce) === 0;

    component msg = Poseidon(6);
    msg.inputs[0] <== domain;
    msg.inputs[1] <== from;
    msg.inputs[2] <== to;
    msg.inputs[3] <== amountF;
    msg.inputs[4] <== feeF;
    msg.inputs[5] <== nonce;
    component r8OnCurve = BabyCheck();
    r8OnCurve.x <== R8x;
    r8OnCurve.y <== R8y;
    component sig = EdDSAPoseidonVerifier();
    sig.enabled <== enabled;
    sig.Ax <== Ax;
    sig.Ay <== Ay;
    sig.S <== S;
    sig.R8x <== R8x;
    sig.R8y <== R8y;
    sig.M <== msg.out;

    // Sender: pays amount + fee (the balance stays in 128 bits: no overspend), nonce + 1.
    signal fromNewBalance <== fromBalance - amount.value - feeValue.value;
    component fromRange = Num2Bits(128);
    fromRange.in <== fromNewBalance;
    component fromOld = Leaf();
    fromOld.pk <== fromPk;
    fromOld.balance <== fromBalance;
    fromOld.nonce <== fromNonce;
    component fromNew = Leaf();
    fromNew.pk <== fromPk;
    fromNew.balance <== fromNewBalance;
    fromNew.nonce <== fromNonce + enabled;
    component fromUpdate = LeafUpdate(depth);
    for (var i = 0; i < depth; i++) {
        fromUpdate.bits[i] <== fb.bits[i];
    }
    for (var l = 0; l < levels; l++) {
        for (var k = 0; k < 4; k++) {
            fromUpdate.children[l][k] <== fromChildren[l][k];
        }
    }
    fromUpdate.oldLeaf <== fromOld.out;
    fromUpdate.newLeaf <== fromNew.out;
    fromUpdate.oldRoot === oldRoot;

    // Receiver (a registered account) gets the amount, unless this is a withdrawal (account 0 is never used).
    // Its leaf and path are read after the sender's update.
    signal credited <== enabled - isWithdrawal;
    component toPkZero = IsZero();
    toPkZero.in <== toPk;
    credited * toPkZero.out === 0;
    signal toNewBalance <== toBalance + credited * amount.value;
    component toRange = Num2Bits(128);
    toRange.in <== toNewBalance;
    component toOld = Leaf();
    toOld.pk <== toPk;
    toOld.balance <== toBalance;
    toOld.nonce <== toNonce;
    component toNew = Leaf();
    toNew.pk <== toPk;
    toNew.balance <== toNewBalance;
    toNew.nonce <== toNonce;
    component toUpdate = LeafUpdate(depth);
    for (var i = 0; i < depth; i++) {
        toUpdate.bits[i] <== tb.bits[i];
    }
    for (var l = 0; l < levels; l++) {
        for (var k = 0; k < 4; k++) {
            toUpdate.children[l][k] <== toChildren[l][k];
        }
    }
    toUpdate.oldLeaf <== toOld.out;
    toUpdate.newLeaf <== toNew.out;
    toUpdate.oldRoot === fromUpdate.newRoot;
    newRoot <== toUpdate.newRoot;
    fee <== feeValue.value;
    for (var i = 0; i < 24; i++) {
        fromBits[i] <== fb.bits[i];
        toBits[i] <== tb.bits[i];
    }
    for (var i = 0; i < 40; i++) {
        amountBits[i] <== amount.bits[i];
    }
    for (var i = 0; i < 16; i++) {
        feeBits[i] <== feeValue.bits[i];
    }
}

// The batch. The SHA-256 input is big-endian bytes: bit k of a field `width` bits wide is bits[width-1-k].
// depth: the index bits (even: the tree is 4-ary, depth / 2 levels).
template Batch(nQueue, nTx, depth) {
    assert(depth % 2 == 0 && depth <= 24);
    var levels = depth \ 2;
    signal input oldRoot;
    signal input newRoot;
    signal input domain;
    signal input feeIndex;

    signal input qEnabled[nQueue];
    signal input qIndex[nQueue];
    signal input qPk[nQueue];
    signal input qAmountF[nQueue];
    signal input qLeafPk[nQueue];
    signal input qLeafBalance[nQueue];
    signal input qLeafNonce[nQueue];
    signal input qChildren[nQueue][levels][4];

    signal input txFrom[nTx];
    signal input txTo[nTx];
    signal input txAmountF[nTx];
    signal input txFeeF[nTx];
    signal input txNonce[nTx];
    signal input txAx[nTx];
    signal input txAy[nTx];
    signal input txS[nTx];
    signal input txR8x[nTx];
    signal input txR8y[nTx];
    signal input txFromPk[nTx];
    signal input txFromBalance[nTx];
    signal input txFromNonce[nTx];
    signal input txFromChildren[nTx][levels][4];
    signal input txToPk[nTx];
    signal input txToBalance[nTx];
    signal input txToNonce[nTx];
    signal input txToChildren[nTx][levels][4];

    signal input feePk;
    signal input feeBalance;
    signal input feeNonce;
    signal input feeChildren[levels][4];

    signal output inputHash;

    var nBytes = 32 + 32 + 8 + 3 + 40 * nQueue + 13 * nTx;
    component sha = Sha256(nBytes * 8);
    var at = 0;

    component oldBits = Num2Bits_strict();
    oldBits.in <== oldRoot;
    component newBits = Num2Bits_strict();
    newBits.in <== newRoot;
    component domainBits = Num2Bits(64);
    domainBits.in <== domain;
    component feeIndexBits = Index(depth);
    feeIndexBits.in <== feeIndex;
    for (var k = 0; k < 256; k++) {
        sha.in[at + k] <== k < 2 ? 0 : oldBits.out[255 - k];
    }
    at += 256;
    for (var k = 0; k < 256; k++) {
        sha.in[at + k] <== k < 2 ? 0 : newBits.out[255 - k];
    }
    at += 256;
    for (var k = 0; k < 64; k++) {
        sha.in[at + k] <== domainBits.out[63 - k];
    }
    at += 64;
    for (var k = 0; k < 24; k++) {
        sha.in[at + k] <== feeIndexBits.bits[23 - k];
    }
    at += 24;

    // The queue's entries, in order: a consumed prefix, then empty slots.
    component q[nQueue];
    signal roots[nQueue + nTx + 1];
    roots[0] <== oldRoot;
    for (var i = 0; i < nQueue; i++) {
        if (i > 0) {
            qEnabled[i] * (1 - qEnabled[i - 1]) === 0;
        }
        q[i] = QueueEntry(depth);
        q[i].oldRoot <== roots[i];
        q[i].enabled <== qEnabled[i];
        q[i].index <== qIndex[i];
        q[i].pk <== qPk[i];
        q[i].amountF <== qAmountF[i];
        q[i].leafPk <== qLeafPk[i];
        q[i].leafBalance <== qLeafBalance[i];
        q[i].leafNonce <== qLeafNonce[i];
        for (var l = 0; l < levels; l++) {
            for (var k = 0; k < 4; k++) {
                q[i].children[l][k] <== qChildren[i][l][k];
            }
        }
        roots[i + 1] <== q[i].newRoot;
        for (var k = 0; k < 24; k++) {
            sha.in[at + k] <== q[i].indexBits[23 - k];
        }
        at += 24;
        for (var k = 0; k < 256; k++) {
            sha.in[at + k] <== k < 2 ? 0 : q[i].pkBits[255 - k];
        }
        at += 256;
        for (var k = 0; k < 40; k++) {
            sha.in[at + k] <== q[i].amountBits[39 - k];
        }
        at += 40;
    }

    component t[nTx];
    var fees = 0;
    for (var i = 0; i < nTx; i++) {
        t[i] = Transaction(depth);
        t[i].oldRoot <== roots[nQueue + i];
        t[i].domain <== domain;
        t[i].from <== txFrom[i];
        t[i].to <== txTo[i];
        t[i].amountF <== txAmountF[i];
        t[i].feeF <== txFeeF[i];
        t[i].nonce <== txNonce[i];
        t[i].Ax <== txAx[i];
        t[i].Ay <== txAy[i];
        t[i].S <== txS[i];
        t[i].R8x <== txR8x[i];
        t[i].R8y <== txR8y[i];
        t[i].fromPk <== txFromPk[i];
        t[i].fromBalance <== txFromBalance[i];
        t[i].fromNonce <== txFromNonce[i];
        t[i].toPk <== txToPk[i];
        t[i].toBalance <== txToBalance[i];
        t[i].toNonce <== txToNonce[i];
        for (var l = 0; l < levels; l++) {
            for (var k = 0; k < 4; k++) {
                t[i].fromChildren[l][k] <== txFromChildren[i][l][k];
                t[i].toChildren[l][k] <== txToChildren[i][l][k];
            }
        }
        roots[nQueue + i + 1] <== t[i].newRoot;
        fees += t[i].fee;
        for (var k = 0; k < 24; k++) {
            sha.in[at + k] <== t[i].fromBits[23 - k];
        }
        at += 24;
        for (var k = 0; k < 24; k++) {
            sha.in[at + k] <== t[i].toBits[23 - k];
        }
        at += 24;
        for (var k = 0; k < 40; k++) {
            sha.in[at + k] <== t[i].amountBits[39 - k];
        }
        at += 40;
        for (var k = 0; k < 16; k++) {
            sha.in[at + k] <== t[i].feeBits[15 - k];
        }
        at += 16;
    }

    // Fees go to the operator's account (a registered one whenever there are fees).
    signal totalFee <== fees;
    component feePkZero = IsZero();
    feePkZero.in <== feePk;
    feePkZero.out * totalFee === 0;
    signal feeNewBalance <== feeBalance + totalFee;
    component feeRange = Num2Bits(128);
    feeRange.in <== feeNewBalance;
    component feeOld = Leaf();
    feeOld.pk <== feePk;
    feeOld.balance <== feeBalance;
    feeOld.nonce <== feeNonce;
    component feeNew = Leaf();
    feeNew.pk <== feePk;
    feeNew.balance <== feeNewBalance;
    feeNew.nonce <== feeNonce;
    component feeUpdate = LeafUpdate(depth);
    for (var i = 0; i < depth; i++) {
        feeUpdate.bits[i] <== feeIndexBits.bits[i];
    }
    for (var l = 0; l < levels; l++) {
        for (var k = 0; k < 4; k++) {
            feeUpdate.children[l][k] <== feeChildren[l][k];
        }
    }
    feeUpdate.oldLeaf <== feeOld.out;
    feeUpdate.newLeaf <== feeNew.out;
    feeUpdate.oldRoot === roots[nQueue + nTx];
    feeUpdate.newRoot === newRoot;

    var acc = 0;
    for (var k = 0; k < 256; k++) {
        acc += sha.out[k] * (2 ** (255 - k));
    }
    inputHash <== acc;
}
