# SPDX-License-Identifier: GPL-3.0-or-later
"""The zk-rollup's Groth16 prover: a separate program, because groth16py (which it imports) is GPL-3.0
and the l2 package is MIT. The package talks to it over stdin/stdout, one JSON object per line:

    {"op": "prove", "wtns": "<path of a .wtns witness>"}   -> {"proof": "<256-byte hex>"}
    {"op": "verify", "proof": "<hex>", "public": ["<int>"]}  -> {"ok": true|false}
    {"op": "vk"}                                             -> {"vk": <snarkjs verification_key.json>}

On start it loads <keys>/pk.bin, or runs a SINGLE-PARTY SETUP from the .r1cs and saves the keys there.
A single-party setup knows the toxic waste: whoever ran it can forge proofs. DEVELOPMENT ONLY. For real
funds import keys from a multi-party ceremony: `--zkey circuit.zkey` (snarkjs format).

`--listen SOCKET` serves the same lines to many processes over a Unix socket instead, so that they share
one loaded key (a proving key takes longer to load than a proof takes to make): each connection first
names its build, `{"op": "open", "r1cs": ..., "keys": ..., "zkey": ...}`, answered like the start above
(load_s 0 when the key was loaded already); the last few builds' keys stay loaded; one request runs at a
time. It stops when its stdin closes (the process that started it ended) or on SIGTERM.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict

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


class Keys:
    """One build's keys, loaded (or set up) once."""

    def __init__(self, r1cs, keys, zkey):
        started = time.perf_counter()
        self.pk, self.vk, self.origin = load_or_setup(r1cs, keys, zkey)
        self.verifier = groth16py.Verifier(self.vk)
        self.load_s = time.perf_counter() - started

    def answer(self, request):
        try:
            if request["op"] == "prove":
                started = time.perf_counter()
                proof = groth16py.prove_wtns(self.pk, request["wtns"])
                return {"proof": bytes(proof).hex(), "prove_s": time.perf_counter() - started}
            if request["op"] == "verify":
                ok = self.verifier.verify(bytes.fromhex(request["proof"]), [int(x) for x in request["public"]])
                return {"ok": bool(ok)}
            if request["op"] == "vk":
                return {"vk": json.loads(self.vk.to_json())}
            return {"error": f"unknown op {request['op']!r}"}
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller as one line
            return {"error": f"{type(exc).__name__}: {exc}"}


def _write(out, reply):
    out.write(json.dumps(reply) + "\n")
    out.flush()


def serve_pipe(r1cs, keys, zkey):
    loaded = Keys(r1cs, keys, zkey)
    _write(sys.stdout, {"ready": True, "origin": loaded.origin, "load_s": loaded.load_s})
    for line in sys.stdin:
        _write(sys.stdout, loaded.answer(json.loads(line)))


KEEP = 3  # builds whose keys stay loaded (about 1 GB each at the test size, 2 GB deployed)


def serve_socket(path):
    lock = threading.Lock()  # one request at a time: a proof uses every core already
    loaded = OrderedDict()

    def keys_for(request):
        name = (request["r1cs"], request["keys"], request.get("zkey"))
        if name in loaded:
            loaded.move_to_end(name)
            return loaded[name], 0.0
        while len(loaded) >= KEEP:
            loaded.popitem(last=False)
        loaded[name] = Keys(*name)
        return loaded[name], loaded[name].load_s

    def handle(conn):
        try:
            with conn, conn.makefile("r") as inp, conn.makefile("w") as out:
                opened = json.loads(inp.readline() or "null")
                if not opened or opened.get("op") != "open":
                    return _write(out, {"error": "the first request must be open"})
                try:
                    with lock:
                        keys, load_s = keys_for(opened)
                except Exception as exc:  # noqa: BLE001 - a build that cannot load fails its caller only
                    return _write(out, {"error": f"{type(exc).__name__}: {exc}"})
                _write(out, {"ready": True, "origin": keys.origin, "load_s": load_s})
                for line in inp:
                    with lock:
                        reply = keys.answer(json.loads(line))
                    _write(out, reply)
        except (OSError, ValueError):
            pass  # the client went away (killed mid-request): nobody to answer

    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)

    def stop(*_):
        try:
            os.unlink(path)
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    _write(sys.stdout, {"listening": path})
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r1cs")
    parser.add_argument("--keys", help="folder of pk.bin and vk.json (written by a dev setup)")
    parser.add_argument("--zkey", help="a snarkjs Groth16 .zkey from a ceremony, instead of a dev setup")
    parser.add_argument("--listen", metavar="SOCKET", help="serve many processes on this Unix socket")
    args = parser.parse_args()
    if args.listen:
        serve_socket(args.listen)
    elif not (args.r1cs and args.keys):
        parser.error("--r1cs and --keys are required (or --listen)")
    else:
        serve_pipe(args.r1cs, args.keys, args.zkey)


if __name__ == "__main__":
    main()
