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

// The root over `leaf` at the position given by `bits` (level 0 first).
template MerkleRoot(depth) {
    signal input leaf;
    signal input bits[depth];
    signal input siblings[depth];
    signal output root;

    signal cur[depth + 1];
    signal swap[depth];
    component h[depth];
    cur[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        swap[i] <== bits[i] * (siblings[i] - cur[i]);
        h[i] = Poseidon(2);
        h[i].inputs[0] <== cur[i] + swap[i];
        h[i].inputs[1] <== siblings[i] - swap[i];
        cur[i + 1] <== h[i].out;
    }
    root <== cur[depth];
}

// Replace the leaf at `index` (proven under oldRoot) by newLeaf. Indexes are range-checked to the tree.
template LeafUpdate(depth) {
    signal input oldRoot;
    signal input index;
    signal input siblings[depth];
    signal input oldLeaf;
    signal input newLeaf;
    signal output newRoot;

    component bits = Num2Bits(depth);
    bits.in <== index;
    component before = MerkleRoot(depth);
    component after = MerkleRoot(depth);
    before.leaf <== oldLeaf;
    after.leaf <== newLeaf;
    for (var i = 0; i < depth; i++) {
        before.bits[i] <== bits.out[i];
        before.siblings[i] <== siblings[i];
        after.bits[i] <== bits.out[i];
        after.siblings[i] <== siblings[i];
    }
    before.root === oldRoot;
    newRoot <== after.root;
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
    signal input oldRoot;
    signal input enabled;
    signal input index;
    signal input pk;
    signal input amountF;
    signal input leafPk;
    signal input leafBalance;
    signal input leafNonce;
    signal input siblings[depth];
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
    component idx = Num2Bits(24);
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
    update.oldRoot <== oldRoot;
    update.index <== index;
    update.oldLeaf <== oldLeaf.out;
    update.newLeaf <== newLeaf.out;
    for (var i = 0; i < depth; i++) {
        update.siblings[i] <== siblings[i];
    }
    newRoot <== update.newRoot;
    for (var i = 0; i < 24; i++) {
        indexBits[i] <== idx.out[i];
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
    signal input fromSiblings[depth];
    signal input toPk;
    signal input toBalance;
    signal input toNonce;
    signal input toSiblings[depth];
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
    component fb = Num2Bits(24);
    fb.in <== from;
    component tb = Num2Bits(24);
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
    fromUpdate.oldRoot <== oldRoot;
    fromUpdate.index <== from;
    fromUpdate.oldLeaf <== fromOld.out;
    fromUpdate.newLeaf <== fromNew.out;
    for (var i = 0; i < depth; i++) {
        fromUpdate.siblings[i] <== fromSiblings[i];
    }

    // Receiver (a registered account) gets the amount, unless this is a withdrawal (account 0 is never used).
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
    toUpdate.oldRoot <== fromUpdate.newRoot;
    toUpdate.index <== to;
    toUpdate.oldLeaf <== toOld.out;
    toUpdate.newLeaf <== toNew.out;
    for (var i = 0; i < depth; i++) {
        toUpdate.siblings[i] <== toSiblings[i];
    }
    newRoot <== toUpdate.newRoot;
    fee <== feeValue.value;
    for (var i = 0; i < 24; i++) {
        fromBits[i] <== fb.out[i];
        toBits[i] <== tb.out[i];
    }
    for (var i = 0; i < 40; i++) {
        amountBits[i] <== amount.bits[i];
    }
    for (var i = 0; i < 16; i++) {
        feeBits[i] <== feeValue.bits[i];
    }
}

// The batch. The SHA-256 input is big-endian bytes: bit k of a field `width` bits wide is bits[width-1-k].
template Batch(nQueue, nTx, depth) {
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
    signal input qSiblings[nQueue][depth];

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
    signal input txFromSiblings[nTx][depth];
    signal input txToPk[nTx];
    signal input txToBalance[nTx];
    signal input txToNonce[nTx];
    signal input txToSiblings[nTx][depth];

    signal input feePk;
    signal input feeBalance;
    signal input feeNonce;
    signal input feeSiblings[depth];

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
    component feeIndexBits = Num2Bits(24);
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
        sha.in[at + k] <== feeIndexBits.out[23 - k];
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
        for (var j = 0; j < depth; j++) {
            q[i].siblings[j] <== qSiblings[i][j];
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
        for (var j = 0; j < depth; j++) {
            t[i].fromSiblings[j] <== txFromSiblings[i][j];
            t[i].toSiblings[j] <== txToSiblings[i][j];
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
    feeUpdate.oldRoot <== roots[nQueue + nTx];
    feeUpdate.index <== feeIndex;
    feeUpdate.oldLeaf <== feeOld.out;
    feeUpdate.newLeaf <== feeNew.out;
    for (var j = 0; j < depth; j++) {
        feeUpdate.siblings[j] <== feeSiblings[j];
    }
    feeUpdate.newRoot === newRoot;

    var acc = 0;
    for (var k = 0; k < 256; k++) {
        acc += sha.out[k] * (2 ** (255 - k));
    }
    inputHash <== acc;
}
