# SPDX-License-Identifier: GPL-3.0-or-later
"""The zk-rollup's Groth16 prover: a separate program, because groth16py (which it imports) is GPL-3.0
and the l2 package is MIT. The package talks to it over stdin/stdout, one JSON object per line:

    {"op": "prove", "wtns": "<path of a .wtns witness>"}   -> {"proof": "<256-byte hex>"}
    {"op": "verify", "proof": "<hex>", "public": ["<int>"]}  -> {"ok": true|false}
    {"op": "vk"}                                             -> {"vk": <snarkjs verification_key.json>}

On start it loads <keys>/pk.bin, or runs a SINGLE-PARTY SETUP from the .r1cs and saves the keys there.
A single-party setup knows the toxic waste: whoever ran it can forge proofs. DEVELOPMENT ONLY. For real
funds import keys from a multi-party ceremony: `--zkey circuit.zkey` (snarkjs format).
"""

import argparse
import json
import os
import sys
import time

import groth16py

DEV_ONLY = ("WARNING: single-party Groth16 setup: whoever ran it can forge proofs. DEVELOPMENT ONLY; "
            "use --zkey with keys from a multi-party ceremony for real funds.")


def load_or_setup(r1cs, keys, zkey):
    pk_path, vk_path = os.path.join(keys, "pk.bin"), os.path.join(keys, "vk.json")
    if zkey:
        pk, vk = groth16py.import_zkey(zkey)
        return pk, vk, "ceremony"
    if os.path.exists(pk_path) and os.path.exists(vk_path):
        pk = groth16py.ProvingKey.load(pk_path)
        with open(vk_path) as f:
            vk = groth16py.VerifyingKey.from_snarkjs(f.read())
        return pk, vk, "dev-setup"
    print(DEV_ONLY, file=sys.stderr, flush=True)
    pk, vk = groth16py.setup(r1cs)
    os.makedirs(keys, exist_ok=True)
    pk.save(pk_path + ".tmp")
    with open(vk_path + ".tmp", "w") as f:
        f.write(vk.to_json())
    os.replace(pk_path + ".tmp", pk_path)
    os.replace(vk_path + ".tmp", vk_path)
    return pk, vk, "dev-setup"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r1cs", required=True)
    parser.add_argument("--keys", required=True, help="folder of pk.bin and vk.json (written by a dev setup)")
    parser.add_argument("--zkey", help="a snarkjs Groth16 .zkey from a ceremony, instead of a dev setup")
    args = parser.parse_args()
    started = time.perf_counter()
    pk, vk, origin = load_or_setup(args.r1cs, args.keys, args.zkey)
    verifier = groth16py.Verifier(vk)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "origin": origin, "load_s": time.perf_counter() - started}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "prove":
                started = time.perf_counter()
                proof = groth16py.prove_wtns(pk, request["wtns"])
                reply = {"proof": bytes(proof).hex(), "prove_s": time.perf_counter() - started}
            elif request["op"] == "verify":
                ok = verifier.verify(bytes.fromhex(request["proof"]), [int(x) for x in request["public"]])
                reply = {"ok": bool(ok)}
            elif request["op"] == "vk":
                reply = {"vk": json.loads(vk.to_json())}
            else:
                reply = {"error": f"unknown op {request['op']!r}"}
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller as one line
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
