"""A validator's Ethereum JSON-RPC server on 127.0.0.1: web3.py and ethers connect to it like to any node.

Reads see committed blocks only (a transaction is final once its block is committed: there is no pending
block, and "pending", "safe" and "finalized" all mean the last committed block), except that the
"pending" nonce counts the sender's transactions waiting in this validator's mempool. Every request runs
under the validator's lock, so it never sees a block half-committed.

Besides the `eth_` methods, `sidechain_status` tells a validator's height, round and step and the heights
its peers announced, `sidechain_getCommit(height)` the precommits stored with a block, and
`sidechain_getBurns(start, end)` the withdrawals of blocks start..end (what an exit proof needs).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import rlp
from eth.exceptions import BlockNotFound, HeaderNotFound, TransactionNotFound
from eth_utils import to_canonical_address, to_checksum_address

from l2.designs.sidechain.errors import TransactionRejected
from l2.designs.sidechain.p2p import HOST
from l2.l1.chain import PRIORITY_FEE_WEI

MAX_REQUEST = 4 * 1024 * 1024
MAX_LOG_RANGE = 10_000  # blocks one eth_getLogs may scan
CLIENT_VERSION = "l2-sidechain/0.1"


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def _hex(value: int) -> str:
    return hex(value)


def _data(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _quantity(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise RpcError(-32602, f"{name} must be a hex quantity, got {value!r}")


def _bytes(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(-32602, f"{name} must be 0x-prefixed hex data")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(-32602, f"{name} is not hex data") from None


def _address(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RpcError(-32602, f"{name} must be an address")
    try:
        return to_checksum_address(value)
    except ValueError:
        raise RpcError(-32602, f"{name} is not an address: {value!r}") from None


class RpcApi:
    """The methods, over a validator (its executor for state, its mempool for the pending nonce)."""

    def __init__(self, node):
        self.node = node
        self.executor = node.executor

    def dispatch(self, method: str, params: list) -> Any:
        handler = getattr(self, "rpc_" + method, None)
        if handler is None:
            raise RpcError(-32601, f"method {method} is not supported by this sidechain node")
        with self.node.lock:
            return handler(*params)

    # --- blocks ------------------------------------------------------------------------------------

    def _header(self, block_id: Any = "latest"):
        if block_id in ("latest", "pending", "safe", "finalized", None):
            return self.executor.head()
        if block_id == "earliest":
            return self.executor.header(0)
        if isinstance(block_id, dict):  # EIP-1898
            if "blockHash" in block_id:
                return self._by_hash(_bytes(block_id["blockHash"], "blockHash"))
            block_id = block_id.get("blockNumber", "latest")
            return self._header(block_id)
        number = _quantity(block_id, "block")
        if number > self.executor.height:
            raise RpcError(-32000, f"block {number} is not committed yet (the head is {self.executor.height})")
        return self.executor.header(number)

    def _by_hash(self, block_hash: bytes):
        try:
            header = self.executor.chain.get_block_header_by_hash(block_hash)
        except (HeaderNotFound, BlockNotFound):
            raise RpcError(-32000, f"no block 0x{block_hash.hex()}") from None
        return header

    def rpc_web3_clientVersion(self):
        return CLIENT_VERSION

    def rpc_net_version(self):
        return str(self.executor.genesis.chain_id)

    def rpc_net_listening(self):
        return True

    def rpc_eth_syncing(self):
        return False

    def rpc_eth_chainId(self):
        return _hex(self.executor.genesis.chain_id)

    def rpc_eth_blockNumber(self):
        return _hex(self.executor.height)

    def rpc_eth_gasPrice(self):
        return _hex(self._next_base_fee() + PRIORITY_FEE_WEI)

    def rpc_eth_maxPriorityFeePerGas(self):
        return _hex(PRIORITY_FEE_WEI)

    def _next_base_fee(self) -> int:
        head = self.executor.head()
        header = self.executor.chain.create_header_from_parent(head, timestamp=head.timestamp + 1)
        return header.base_fee_per_gas

    def rpc_eth_getBlockByNumber(self, block_id, full=False):
        try:
            header = self._header(block_id)
        except RpcError:
            return None
        return self._block_json(header, bool(full))

    def rpc_eth_getBlockByHash(self, block_hash, full=False):
        try:
            header = self._by_hash(_bytes(block_hash, "block hash"))
        except RpcError:
            return None
        return self._block_json(header, bool(full))

    def _block_json(self, header, full: bool) -> dict:
        block = self.executor.chain.get_block_by_header(header)
        txs = [self._tx_json(tx, header, i) if full else _data(tx.hash) for i, tx in enumerate(block.transactions)]
        result = {
            "number": _hex(header.block_number), "hash": _data(header.hash), "parentHash": _data(header.parent_hash),
            "nonce": _data(header.nonce), "sha3Uncles": _data(header.uncles_hash),
            "logsBloom": _data(header.bloom.to_bytes(256, "big")), "transactionsRoot": _data(header.transaction_root),
            "stateRoot": _data(header.state_root), "receiptsRoot": _data(header.receipt_root),
            "miner": to_checksum_address(header.coinbase), "difficulty": "0x0", "totalDifficulty": "0x0",
            "extraData": _data(header.extra_data), "size": _hex(len(rlp.encode(block))),
            "gasLimit": _hex(header.gas_limit), "gasUsed": _hex(header.gas_used),
            "timestamp": _hex(header.timestamp), "transactions": txs, "uncles": [],
            "baseFeePerGas": _hex(header.base_fee_per_gas), "mixHash": _data(header.mix_hash),
            "withdrawals": [], "withdrawalsRoot": _data(header.withdrawals_root),
            "blobGasUsed": _hex(header.blob_gas_used), "excessBlobGas": _hex(header.excess_blob_gas),
            "parentBeaconBlockRoot": _data(header.parent_beacon_block_root),
            "requestsHash": _data(header.requests_hash),
        }
        return result

    # --- state -------------------------------------------------------------------------------------

    def rpc_eth_getBalance(self, address, block_id="latest"):
        state = self.executor.state_at(self._header(block_id))
        return _hex(state.get_balance(to_canonical_address(_address(address, "address"))))

    def rpc_eth_getCode(self, address, block_id="latest"):
        state = self.executor.state_at(self._header(block_id))
        return _data(state.get_code(to_canonical_address(_address(address, "address"))))

    def rpc_eth_getStorageAt(self, address, slot, block_id="latest"):
        state = self.executor.state_at(self._header(block_id))
        value = state.get_storage(to_canonical_address(_address(address, "address")), _quantity(slot, "slot"))
        return _data(value.to_bytes(32, "big"))

    def rpc_eth_getTransactionCount(self, address, block_id="latest"):
        address = _address(address, "address")
        if block_id == "pending":
            return _hex(self.node.pending_nonce(address))
        return _hex(self.executor.state_at(self._header(block_id)).get_nonce(to_canonical_address(address)))

    def _unsigned(self, call: Any, header):
        if not isinstance(call, dict):
            raise RpcError(-32602, "the call must be an object")
        sender = _address(call.get("from", "0x" + "00" * 20), "from")
        to = _address(call["to"], "to") if call.get("to") else None
        data = _bytes(call.get("data", call.get("input", "0x")), "data")
        gas = _quantity(call["gas"], "gas") if call.get("gas") is not None else None
        return self.executor.unsigned(sender=sender, to=to, value=_quantity(call.get("value", 0), "value"), data=data,
                                      gas=gas, header=header)

    def rpc_eth_call(self, call, block_id="latest"):
        header = self._header(block_id)
        computation = self.executor.call(self._unsigned(call, header), header)
        if computation.is_error:
            raise _revert(computation)
        return _data(computation.output)

    def rpc_eth_estimateGas(self, call, block_id="latest"):
        header = self._header(block_id)
        tx = self._unsigned(call, header)
        computation = self.executor.call(tx, header)
        if computation.is_error:
            raise _revert(computation)
        return _hex(self.executor.estimate_gas(tx, header))

    # --- transactions ------------------------------------------------------------------------------

    def rpc_eth_sendRawTransaction(self, raw):
        try:
            return _data(self.node.add_transaction(_bytes(raw, "transaction")))
        except TransactionRejected as exc:
            raise RpcError(-32000, str(exc)) from None

    def _locate(self, tx_hash: bytes):
        try:
            number, index = self.executor.chain.chaindb.get_transaction_index(tx_hash)
        except (TransactionNotFound, KeyError):
            return None
        header = self.executor.header(number)
        block = self.executor.chain.get_block_by_header(header)
        return header, block, index

    def rpc_eth_getTransactionByHash(self, tx_hash):
        found = self._locate(_bytes(tx_hash, "transaction hash"))
        if found is None:
            return None
        header, block, index = found
        return self._tx_json(block.transactions[index], header, index)

    def _tx_json(self, tx, header, index: int) -> dict:
        result: dict[str, Any] = {
            "hash": _data(tx.hash), "nonce": _hex(tx.nonce), "blockHash": _data(header.hash),
            "blockNumber": _hex(header.block_number), "transactionIndex": _hex(index),
            "from": to_checksum_address(tx.sender), "to": to_checksum_address(tx.to) if tx.to else None,
            "value": _hex(tx.value), "gas": _hex(tx.gas), "input": _data(tx.data),
            "type": _hex(getattr(tx, "type_id", None) or 0), "chainId": _hex(self.executor.genesis.chain_id),
            "v": _hex(tx.y_parity if hasattr(tx, "y_parity") else tx.v), "r": _hex(tx.r), "s": _hex(tx.s),
        }
        if hasattr(tx, "max_fee_per_gas"):
            result.update(maxFeePerGas=_hex(tx.max_fee_per_gas), maxPriorityFeePerGas=_hex(tx.max_priority_fee_per_gas),
                          gasPrice=_hex(self._effective_price(tx, header)), accessList=[])
        else:
            result["gasPrice"] = _hex(tx.gas_price)
        return result

    @staticmethod
    def _effective_price(tx, header) -> int:
        if hasattr(tx, "max_fee_per_gas"):
            return min(tx.max_fee_per_gas, header.base_fee_per_gas + tx.max_priority_fee_per_gas)
        return tx.gas_price

    def rpc_eth_getTransactionReceipt(self, tx_hash):
        found = self._locate(_bytes(tx_hash, "transaction hash"))
        if found is None:
            return None  # not committed (yet): there is no pending block to be in
        header, block, index = found
        receipts = block.get_receipts(self.executor.chain.chaindb)
        return self._receipt_json(header, block, receipts, index)

    def _receipt_json(self, header, block, receipts, index: int) -> dict:
        from eth._utils.address import generate_contract_address

        tx, receipt = block.transactions[index], receipts[index]
        before = receipts[index - 1].gas_used if index else 0
        first_log = sum(len(r.logs) for r in receipts[:index])
        contract = None
        if not tx.to:
            contract = to_checksum_address(generate_contract_address(tx.sender, tx.nonce))
        return {
            "transactionHash": _data(tx.hash), "transactionIndex": _hex(index), "blockHash": _data(header.hash),
            "blockNumber": _hex(header.block_number), "from": to_checksum_address(tx.sender),
            "to": to_checksum_address(tx.to) if tx.to else None, "cumulativeGasUsed": _hex(receipt.gas_used),
            "gasUsed": _hex(receipt.gas_used - before), "effectiveGasPrice": _hex(self._effective_price(tx, header)),
            "contractAddress": contract, "logs": [self._log_json(log, header, tx, index, first_log + i)
                                                  for i, log in enumerate(receipt.logs)],
            "logsBloom": _data(receipt.bloom.to_bytes(256, "big")), "type": _hex(getattr(tx, "type_id", None) or 0),
            "status": "0x1" if receipt.state_root == b"\x01" else "0x0",
        }

    @staticmethod
    def _log_json(log, header, tx, tx_index: int, log_index: int) -> dict:
        return {"address": to_checksum_address(log.address),
                "topics": [_data(t.to_bytes(32, "big")) for t in log.topics],
                "data": _data(log.data), "blockNumber": _hex(header.block_number), "blockHash": _data(header.hash),
                "transactionHash": _data(tx.hash), "transactionIndex": _hex(tx_index), "logIndex": _hex(log_index),
                "removed": False}

    def rpc_eth_getLogs(self, query):
        if not isinstance(query, dict):
            raise RpcError(-32602, "the filter must be an object")
        if query.get("blockHash"):
            headers = [self._by_hash(_bytes(query["blockHash"], "blockHash"))]
        else:
            start = self._header(query.get("fromBlock", "latest")).block_number
            end = self._header(query.get("toBlock", "latest")).block_number
            if end - start > MAX_LOG_RANGE:
                raise RpcError(-32005, f"a log query may span at most {MAX_LOG_RANGE} blocks, not {end - start}")
            headers = [self.executor.header(n) for n in range(start, end + 1)]
        addresses = query.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted = {_address(a, "address") for a in addresses} if addresses else None
        topics = query.get("topics") or []
        results = []
        for header in headers:
            block = self.executor.chain.get_block_by_header(header)
            if not block.transactions:
                continue
            receipts = block.get_receipts(self.executor.chain.chaindb)
            log_index = 0
            for i, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
                for log in receipt.logs:
                    entry = self._log_json(log, header, tx, i, log_index)
                    log_index += 1
                    if wanted is not None and entry["address"] not in wanted:
                        continue
                    if _topics_match(entry["topics"], topics):
                        results.append(entry)
        return results

    # --- the sidechain's own -----------------------------------------------------------------------

    def rpc_sidechain_status(self):
        state = self.node.state
        return {"validator": self.node.me, "height": self.executor.height, "round": state.round, "step": state.step,
                "consensusHeight": state.height, "mempool": len(self.node.mempool),
                "peerHeights": dict(self.node.peer_heights), "epoch": self.node.epoch,
                "validators": {v.address: str(v.power) for v in self.node.ctx.validators.validators}}

    def rpc_sidechain_getBurns(self, start, end):
        """The bridge's burns in blocks start..end, in order: the leaves of that checkpoint's exit root."""
        return [{"id": b.id, "blockNumber": b.block_number, "token": b.token, "recipient": b.recipient,
                 "amount": str(b.amount)}
                for b in self.node.burns(_quantity(start, "start"), _quantity(end, "end"))]

    def rpc_sidechain_getCommit(self, height):
        row = self.node.store.db.execute("SELECT hash, round, precommits FROM blocks WHERE height = ?",
                                         (_quantity(height, "height"),)).fetchone()
        if row is None:
            return None
        return {"hash": _data(row[0]), "round": row[1], "precommits": json.loads(row[2])}


def _topics_match(actual: list[str], wanted: list) -> bool:
    for i, option in enumerate(wanted):
        if option is None:
            continue
        if i >= len(actual):
            return False
        options = option if isinstance(option, list) else [option]
        if actual[i] not in [o.lower() for o in options if isinstance(o, str)]:
            return False
    return True


def _revert(computation) -> RpcError:
    error = computation.error
    data = error.args[0] if error.args and isinstance(error.args[0], bytes) else b""
    if type(error).__name__ == "Revert":
        return RpcError(3, "execution reverted", _data(data))
    return RpcError(-32000, f"execution failed: {type(error).__name__}: {error}")


class _Handler(BaseHTTPRequestHandler):
    api: RpcApi

    def do_POST(self):  # noqa: N802 - the name http.server calls
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_REQUEST:
            self._reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "bad request size"}})
            return
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            return
        if isinstance(request, list):
            self._reply([self._one(r) for r in request[:100]])
        else:
            self._reply(self._one(request))

    def _one(self, request: Any) -> dict:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        params = request.get("params") or []
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            reply["result"] = self.api.dispatch(request["method"], params if isinstance(params, list) else [params])
        except RpcError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message, **({"data": exc.data} if exc.data else {})}
        except TypeError as exc:
            reply["error"] = {"code": -32602, "message": f"invalid params: {exc}"}
        except Exception as exc:  # noqa: BLE001 - one bad request must not take the server down; it says why
            reply["error"] = {"code": -32603, "message": f"{type(exc).__name__}: {exc}"}
        return reply

    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass  # one line per request would drown the validator's own log


class RpcServer:
    def __init__(self, node, port: int):
        handler = type("Handler", (_Handler,), {"api": RpcApi(node)})
        self.server = ThreadingHTTPServer((HOST, port), handler)
        self.server.daemon_threads = True
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="rpc", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=2.0)
