"""The optimistic rollup's part of `l2 sandbox`: a Sequencer (its journal in the session folder) with its
bond and its fee accounts (ETH and the test token), an independent Challenger, and a Wallet per user
(its BLS key derived from the user's Ethereum key and registered on Layer 1); every user deposits ETH
and test tokens, and batch #0 carries the deposits."""

from __future__ import annotations

from l2.designs.api import TOKEN_UNIT, SandboxEnv, SandboxPart
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.wallet import Wallet
from l2.output import eth, gas
from l2.runtime.service import run_round

TOKEN_ID = 1  # the test token's id on the rollup (0 is ETH)


def part(env: SandboxEnv) -> SandboxPart:
    chain = env.chain
    rollup = RollupClient(chain, env.addresses["OptimisticRollup"])
    f = rollup.contract.functions
    if f.tokenCount().call() <= TOKEN_ID:
        rollup.register_token(env.operator, env.token.address, TOKEN_UNIT // 1000)
    minimum = f.minBond().call()
    if rollup.bond(env.operator.address) < minimum:
        rollup.deposit_bond(env.operator, minimum - rollup.bond(env.operator.address))
    # The operator's fee accounts, one per token it takes (a commitment pays its fees in one token).
    operator = Wallet(env.operator, rollup, None)
    operator.deposit(f.minDeposits(0).call())
    chain.transact(env.token.functions.mint(env.operator.address, TOKEN_UNIT), env.operator)
    operator.deposit(TOKEN_UNIT, token=TOKEN_ID)
    fee_accounts = {0: rollup.account_of(env.operator.address, 0), TOKEN_ID: rollup.account_of(env.operator.address,
                                                                                              TOKEN_ID)}
    sequencer = Sequencer(rollup, env.operator, fee_accounts, env.workdir / "sequencer.db", max_batch=env.max_batch,
                          max_age=env.batch_time)
    operator.sequencer = sequencer
    challenger = Challenger(rollup, env.challenger)
    wallets = {name: Wallet(account, rollup, sequencer) for name, account in env.users.items()}
    deposit, token_deposit = 10 * env.unit, 100 * TOKEN_UNIT
    for wallet in wallets.values():
        wallet.deposit(deposit)
        wallet.deposit(token_deposit, token=TOKEN_ID)
    run_round([sequencer, challenger], urgent=True)  # batch #0 checked; the start is summed up by the banner
    everyone = {env.operator.address: "operator", env.challenger.address: "challenger",
                **{a.address: name for name, a in env.users.items()}}

    def claim(who) -> None:
        """Claim on Layer 1 every final, unclaimed rollup withdrawal paid to `who` (an account or an address)."""
        address = getattr(who, "address", who)
        with env.lock:
            env.step()
            sender = next((a for a in env.users.values() if a.address == address), env.challenger)
            claimed = 0
            for w in challenger.claimables(address):
                if challenger.is_claimed(w):
                    continue
                if not challenger.is_final(w):
                    env.console.print(f"batch #{w.batch_index} is not final yet: its challenge window ends "
                                      f"{rollup.challenge_window} s after it was posted", highlight=False)
                    continue
                receipt = challenger.claim(sender, w)
                claimed += 1
                what = eth(w.amount) if w.token == 0 else f"{w.amount / TOKEN_UNIT:,.2f} TST"
                env.console.print(f"claimed {what} from batch #{w.batch_index} for {everyone.get(address, address)} "
                                  f"({gas(receipt.gasUsed)} gas)", highlight=False)
            if not claimed:
                env.console.print("nothing to claim", highlight=False)

    def cells(name: str, address: str) -> list[str]:
        out = []
        for token in (0, TOKEN_ID):
            account = sequencer.open_state.account(rollup.account_of(address, token) or -1)
            if account is None:
                out.append("-")
            else:
                out.append(eth(account.balance) if token == 0 else f"{account.balance / TOKEN_UNIT:,.2f}")
        return out

    def status() -> list[str]:
        batches = rollup.batch_count()
        standing = challenger.standing()
        final = sum(rollup.chain.now() >= b.header[7] + rollup.challenge_window for b in standing)
        return [f"rollup: {batches} batch{'es' if batches != 1 else ''} on Layer 1 ({final} final), "
                f"{sequencer.pending_count()} transfer(s) waiting for the next batch, challenger: "
                f"{len(challenger.checked)} checked, {challenger.proven} fraud(s) proven; "
                f"operator bond {eth(rollup.bond(env.operator.address))}"]

    def close() -> None:
        sequencer.close()

    bond = eth(rollup.bond(env.operator.address), 0)
    return SandboxPart(
        objects={"rollup": rollup, "sequencer": sequencer, "challenger": challenger, "claim": claim,
                 **{f"{name}_l2": wallet for name, wallet in wallets.items()}},
        services=[sequencer, challenger],
        contracts=[f"rollup {rollup.address} (OptimisticRollup, commitments of {rollup.k}, challenge window "
                   f"{rollup.challenge_window} s)"],
        banner=[f"  rollup     {', '.join(f'{n}_l2' for n in wallets)}: Wallets (BLS keys registered), "
                f"{eth(deposit, 0)} and {token_deposit // TOKEN_UNIT} TST each",
                f"             sequencer (operator's, bond {bond}; a batch every {env.batch_time:g} s or "
                f"{env.max_batch} transfers), challenger (challenger's)"],
        helpers=["claim(who)"],
        columns=["rollup ETH", "rollup TST"],
        cells=cells,
        status=status,
        close=close,
    )
