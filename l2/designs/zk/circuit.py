"""Build the batch circuit with circom2 (npm) and drive the Groth16 prover, both cached by content hash.

circom2 runs from the project root with `-l node_modules -l circuits/zk` (it cannot follow `../` includes)
and `--O2`. The build lands in build/zk/<shape>-<hash>/, keyed by the circuit sources, the shape and the
compiler's version, so an unchanged circuit never recompiles; its keys are kept beside it.

The prover is circuits/zk/prover.py, a separate program (GPL-3.0, it imports groth16py) that this MIT package
talks to over a pipe. Its keys come from a single-party setup: DEVELOPMENT ONLY (see that file).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from l2.designs.zk.batch import Shape
from l2.designs.zk.errors import CircuitError, ProverMissing

ROOT = Path(__file__).resolve().parents[3]
CIRCUITS = ROOT / "circuits" / "zk"
BUILD = ROOT / "build" / "zk"
CIRCOM = ROOT / "node_modules" / "circom2" / "cli.js"
PROVER = CIRCUITS / "prover.py"
# A shared prover's Unix socket (`shared_prover`): set, every Prover of this process and of the processes it
# starts talks to that one prover instead of starting its own.
SHARED_ENV = "L2_ZK_PROVER"
FLAGS = ("--r1cs", "--wasm", "--O2", "-l", "node_modules", "-l", "circuits/zk")
_lock = threading.Lock()


@dataclass(frozen=True)
class CircuitBuild:
    shape: Shape
    folder: Path

    @property
    def r1cs(self) -> Path:
        return self.folder / "main.r1cs"

    @property
    def wasm(self) -> Path:
        return self.folder / "main_js" / "main.wasm"

    @property
    def keys(self) -> Path:
        return self.folder / "keys"

    def constraints(self) -> int:
        return r1cs_constraints(self.r1cs)


def _main_source(shape: Shape) -> str:
    return (f'pragma circom 2.1.0;\ninclude "rollup.circom";\n\n'
            f"component main = Batch({shape.n_queue}, {shape.n_tx}, {shape.depth});\n")


def _version(package: str) -> str:
    try:
        return json.loads((ROOT / "node_modules" / package / "package.json").read_text())["version"]
    except FileNotFoundError:
        raise ProverMissing(f"npm package {package} is missing: run `make setup` (npm ci)") from None


def build_key(shape: Shape) -> str:
    digest = hashlib.sha256()
    for part in (_main_source(shape), *(p.read_text() for p in sorted(CIRCUITS.glob("*.circom"))),
                 _version("circom2"), _version("circomlib"), " ".join(FLAGS)):
        digest.update(hashlib.sha256(part.encode()).digest())
    return digest.hexdigest()[:16]


def missing_tools() -> str | None:
    """Why the circuit cannot be built and proven here, or None: node with circom2 and circomlib from npm, the
    circuit and its prover (circuits/zk/, GPL-3.0: in a checkout, not in the wheel), groth16py for the prover."""
    import importlib.util

    if shutil.which("node") is None:
        return "node is not on PATH (circom2 runs on Node.js)"
    if not (CIRCUITS / "rollup.circom").exists() or not PROVER.exists():
        return f"its circuit and prover are not in {CIRCUITS} (they come with a checkout, not with the wheel)"
    for package in ("circom2", "circomlib"):
        if not (ROOT / "node_modules" / package / "package.json").exists():
            return f"npm package {package} is missing: run `make setup` (npm ci)"
    if importlib.util.find_spec("groth16py") is None:
        return "groth16py is not installed: run `make setup`"
    return None


def compile_circuit(shape: Shape) -> CircuitBuild:
    """circom2 --O2 for `shape`, or the cached build when nothing changed."""
    if shutil.which("node") is None:
        raise ProverMissing("node is not on PATH: circom2 runs on Node.js")
    folder = BUILD / f"{shape.name}-{build_key(shape)}"
    build = CircuitBuild(shape, folder)
    if build.r1cs.exists() and build.wasm.exists():
        return build
    # One compile per build across processes (a test session's subprocesses start at once): the folder
    # appears whole, by rename, and a second compiler finds it there instead of replacing it under keys.
    BUILD.mkdir(parents=True, exist_ok=True)
    with _lock, _file_lock(BUILD / f"{folder.name}.lock"):
        if build.r1cs.exists() and build.wasm.exists():
            return build
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "main.circom").write_text(_main_source(shape))
        run = subprocess.run(["node", str(CIRCOM), str((tmp / "main.circom").relative_to(ROOT)), *FLAGS,
                              "-o", str(tmp.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True)
        if run.returncode != 0 or not (tmp / "main.r1cs").exists():
            raise CircuitError(f"circom2 failed on {shape.name}:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
        (tmp / "circom.log").write_text(run.stdout)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return build


def r1cs_constraints(path: Path) -> int:
    """The number of constraints, read from the .r1cs header section."""
    with open(path, "rb") as f:
        magic, _version_, sections = struct.unpack("<4sII", f.read(12))
        if magic != b"r1cs":
            raise CircuitError(f"{path} is not an r1cs file")
        for _ in range(sections):
            kind, size = struct.unpack("<IQ", f.read(12))
            if kind != 1:
                f.seek(size, 1)
                continue
            field_size = struct.unpack("<I", f.read(4))[0]
            f.seek(field_size, 1)
            _wires, _out, _pub, _prv, _labels, constraints = struct.unpack("<IIIIQI", f.read(28))
            return constraints
    raise CircuitError(f"{path} has no header section")


def witness(build: CircuitBuild, inputs: dict, out: Path) -> Path:
    """Run the circuit's witness calculator (circom's wasm, by node); CircuitError if no witness exists."""
    out.parent.mkdir(parents=True, exist_ok=True)
    input_file = out.with_suffix(".json")
    input_file.write_text(json.dumps(_as_strings(inputs)))  # JSON numbers would lose precision in node
    try:
        run = subprocess.run(["node", str(build.folder / "main_js" / "generate_witness.js"), str(build.wasm),
                              str(input_file), str(out)], capture_output=True, text=True)
    finally:
        input_file.unlink(missing_ok=True)
    if run.returncode != 0 or not out.exists():
        lines = (run.stderr + run.stdout).splitlines()
        detail = "; ".join(line.strip() for line in lines if "Error" in line and "throw" not in line)[-400:]
        raise CircuitError(f"no witness exists for this batch (a constraint fails): {detail or 'node failed'}")
    return out


def _as_strings(value):
    if isinstance(value, dict):
        return {k: _as_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_strings(v) for v in value]
    return str(value)


class _Link:
    """One conversation with a prover: its own process (stdin/stdout), or a connection to a shared one."""

    def __init__(self, proc: subprocess.Popen | None = None, sock: socket.socket | None = None):
        self.proc, self.sock = proc, sock
        if proc is not None:
            assert proc.stdin is not None and proc.stdout is not None
            self.inp, self.out = proc.stdout, proc.stdin
        else:
            assert sock is not None
            self.inp, self.out = sock.makefile("r", encoding="utf-8"), sock.makefile("w", encoding="utf-8")

    def send(self, request: dict) -> None:
        self.out.write(json.dumps(request) + "\n")
        self.out.flush()

    def readline(self) -> str:
        return self.inp.readline()

    def close(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            return
        for f in (self.out, self.inp):
            with contextlib.suppress(OSError):
                f.close()
        assert self.sock is not None
        self.sock.close()


class Prover:
    """The Groth16 prover of one circuit build, started on first use: a deployment needs only the verifying
    key, read from the build's keys/vk.json when a setup already wrote it, so a process that deploys and
    never proves (most sandbox sessions) neither loads the proving key (seconds to a minute) nor sets one up.

    With L2_ZK_PROVER naming the socket of a shared prover (`prover.py --listen`, see `shared_prover`),
    it talks to that one instead of starting its own: processes that prove one after another (a test
    session and the commands it runs) load each key once between them.
    """

    def __init__(self, build: CircuitBuild, zkey: Path | None = None):
        self.build = build
        self.zkey = zkey
        self.origin = "ceremony" if zkey is not None else "dev-setup"
        self.load_s: float | None = None  # how long the prover took to load (or set up) its keys for us
        self.last_prove_s = 0.0
        self._link: _Link | None = None
        self._vk: dict | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._link is not None

    def start(self) -> float:
        """Start the prover now (load its keys, or set them up): the seconds it took, 0 if it runs already
        (or a shared prover had the keys loaded)."""
        with self._lock:
            if self._link is not None:
                return 0.0
            self._start()
        return self.load_s or 0.0

    def _start(self) -> _Link:
        """The prover, started (and its keys loaded, or set up) if it is not yet; under self._lock."""
        if self._link is not None:
            return self._link
        # One setup per build across processes: a second setup would write other keys beside (or over) the
        # ones a first process already deployed a verifier for. The lock is held only while keys are missing.
        with _setup_lock(self.build) if self.zkey is None and not self._keys_exist() else contextlib.nullcontext():
            link = self._open()
            self._link = link
            try:
                ready = self._read()
            except BaseException:
                self._link = None
                link.close()
                raise
        self.load_s = ready["load_s"]
        return link

    def _open(self) -> _Link:
        shared = os.environ.get(SHARED_ENV)
        if shared:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(shared)
            except OSError as exc:
                sock.close()
                raise ProverMissing(f"cannot reach the shared prover at {shared} ({SHARED_ENV}): {exc}") from None
            link = _Link(sock=sock)
            link.send({"op": "open", "r1cs": str(self.build.r1cs), "keys": str(self.build.keys),
                       "zkey": None if self.zkey is None else str(self.zkey)})
            return link
        cmd = [sys.executable, str(PROVER), "--r1cs", str(self.build.r1cs), "--keys", str(self.build.keys)]
        if self.zkey is not None:
            cmd += ["--zkey", str(self.zkey)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr,
                                    text=True, bufsize=1)
        except FileNotFoundError as exc:
            raise ProverMissing(f"cannot start the prover: {exc}") from None
        return _Link(proc=proc)

    def _keys_exist(self) -> bool:
        return (self.build.keys / "pk.bin").exists() and (self.build.keys / "vk.json").exists()

    def _read(self) -> dict:
        assert self._link is not None
        line = self._link.readline()
        if not line:
            raise ProverMissing("the prover exited (is groth16py installed? `make setup`)")
        reply = json.loads(line)
        if "error" in reply:
            raise CircuitError(f"prover: {reply['error']}")
        return reply

    def _ask(self, request: dict) -> dict:
        with self._lock:
            link = self._start()
            link.send(request)
            return self._read()

    def verifying_key(self) -> dict:
        """snarkjs's verification_key.json of this build's keys (from disk once a setup wrote them)."""
        with self._lock:
            if self._vk is None and self._link is None and self.zkey is None and self._keys_exist():
                self._vk = json.loads((self.build.keys / "vk.json").read_text())
        if self._vk is None:
            self._vk = self._ask({"op": "vk"})["vk"]
        return self._vk

    def prove(self, inputs: dict, workdir: Path | None = None) -> bytes:
        """Witness (node, circom's wasm) then proof (groth16py): 256 bytes, a | b | c as the EVM reads them."""
        folder = workdir or self.build.folder / "witness"
        path = witness(self.build, inputs, folder / f"w{os.getpid()}_{threading.get_ident()}.wtns")
        try:
            started = time.perf_counter()
            reply = self._ask({"op": "prove", "wtns": str(path)})
            self.last_prove_s = time.perf_counter() - started
        finally:  # 32 bytes a wire: 16 MB at the deployed size, left behind by every process otherwise
            path.unlink(missing_ok=True)
        return bytes.fromhex(reply["proof"])

    def verify(self, proof: bytes, public: list[int]) -> bool:
        return self._ask({"op": "verify", "proof": proof.hex(), "public": [str(x) for x in public]})["ok"]

    def close(self) -> None:
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _setup_lock(build: CircuitBuild):
    return _file_lock(build.folder / "setup.lock")


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock across processes (flock: released if the holder dies)."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_PROVERS: dict[Path, Prover] = {}


def prover_for(shape: Shape) -> Prover:
    """The process-wide prover of `shape` (compiled now; its process starts on first use, stops at exit)."""
    build = compile_circuit(shape)
    with _lock:
        if build.folder not in _PROVERS:
            if not _PROVERS:
                atexit.register(_close_all)
            _PROVERS[build.folder] = Prover(build)
        return _PROVERS[build.folder]


def _close_all() -> None:
    for prover in _PROVERS.values():
        prover.close()


@contextlib.contextmanager
def shared_prover(socket_path: Path):
    """A prover that many processes share (`prover.py --listen`), for the `with` block: every Prover that
    finds its socket in L2_ZK_PROVER (set here, so inherited by the processes started inside) proves there,
    and each build's key is loaded once for all of them. It stops with the block, or with this process."""
    proc = subprocess.Popen([sys.executable, str(PROVER), "--listen", str(socket_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line or "listening" not in json.loads(line):
            raise ProverMissing("the shared prover did not start (is groth16py installed? `make setup`)")
        previous = os.environ.get(SHARED_ENV)
        os.environ[SHARED_ENV] = str(socket_path)
        try:
            yield socket_path
        finally:
            if previous is None:
                os.environ.pop(SHARED_ENV, None)
            else:
                os.environ[SHARED_ENV] = previous
    finally:
        _stop(proc)  # closing its stdin stops it
