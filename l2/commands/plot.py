"""`l2 bench --plot FILE.png`: Layer-1 gas per Layer-2 transfer, rollup batches against a channel and plain L1.

Drawn from the figures the bench measured in the same run, never from constants:
the rollup's gas per transfer for batches of 1 to 1,024 real transfers, the
channel's whole cooperative lifecycle spread over the payments it carries, and a
plain Layer-1 transfer. matplotlib is an optional extra (`pip install 'l2[plot]'`;
`make` installs it), imported only here.
"""

from __future__ import annotations

import os
from pathlib import Path

from l2.errors import InputError, ToolMissingError

# The metrics the plot needs, by prefix: `--plot` makes sure their benchmarks run.
NEEDED = ("optimistic.gas_per_transfer.batch_", "channels.gas.lifecycle_", "l1.eth_transfer_gas")
CELER_PER_TRANSITION = 4_889  # Celer layer2-finance commitBlock, per extra transition (anchors.md)
# This project's rollup before issue 12 (113 bytes a transfer: an ECDSA signature and a root each), measured by
# this bench at batch 256 before it was replaced: the line the BLS format is drawn against.
PREVIOUS_FORMAT_AT_256 = 4_347


def check_plot_possible(path) -> None:
    """Before any benchmark runs: matplotlib is there and `path` is a PNG we may write."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ToolMissingError("matplotlib is not installed: pip install 'l2[plot]' (make installs it)") from None
    if Path(path).suffix.lower() != ".png":
        raise InputError(f"--plot writes a PNG: give a file name ending in .png, not {path}")


def plot_gas_per_transfer(results: dict[str, float], path) -> None:
    """Draw the chart from `results` (the bench's {metric: value}) into `path`, atomically."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    sweep = sorted((int(name.rsplit("_", 1)[1]), value) for name, value in results.items()
                   if name.startswith(NEEDED[0]))
    missing = [m for m in ("channels.gas.lifecycle_cooperative", "l1.eth_transfer_gas") if m not in results]
    if not sweep or missing:
        raise InputError(f"the plot needs the batch-size sweep and {', '.join(missing) or 'more'}; "
                         "their benchmarks did not run")
    sizes = [n for n, _ in sweep]
    payments = [2**k for k in range(11)]  # 1 .. 1,024
    cooperative = results["channels.gas.lifecycle_cooperative"]
    disputed = results.get("channels.gas.lifecycle_disputed")
    plain = results["l1.eth_transfer_gas"]

    fig, ax = plt.subplots(figsize=(10, 6.2), dpi=120)
    ax.plot(sizes, [v for _, v in sweep], "o-", color="#1f77b4", linewidth=2.2,
            label="optimistic rollup: a batch's Layer-1 gas / its transfers (BLS aggregates, 8 bytes a transfer; "
                  "measured per size)")
    ax.plot(payments, [cooperative / n for n in payments], "-", color="#2ca02c", linewidth=2.2,
            label=f"payment channel: open + deposit + cooperative close ({cooperative:,.0f} gas) / payments")
    if disputed is not None:
        ax.plot(payments, [disputed / n for n in payments], "--", color="#2ca02c", alpha=0.6,
                label=f"payment channel, disputed close ({disputed:,.0f} gas) / payments")
    ax.axhline(plain, color="#d62728", linewidth=2, label=f"plain Layer-1 ETH transfer ({plain:,.0f} gas, measured)")
    ax.axhline(PREVIOUS_FORMAT_AT_256, color="#1f77b4", linestyle=":", linewidth=1.5, alpha=0.7,
               label=f"this rollup's previous format at 256 (ECDSA + a root per transfer, "
                     f"{PREVIOUS_FORMAT_AT_256:,}, measured before issue 12)")
    ax.axhline(CELER_PER_TRANSITION, color="#7f7f7f", linestyle=":", linewidth=1.5,
               label=f"Celer layer2-finance, per extra transition ({CELER_PER_TRANSITION:,}, anchors.md)")
    last_n, last_gas = sweep[-1]
    ax.annotate(f"{last_gas:,.0f} gas", (last_n, last_gas), textcoords="offset points", xytext=(-10, 10),
                ha="right", color="#1f77b4")
    ax.annotate(f"{cooperative / payments[-1]:,.0f} gas", (payments[-1], cooperative / payments[-1]),
                textcoords="offset points", xytext=(-14, -16), ha="right", color="#2ca02c")

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(0.8, 1300)
    ax.set_ylim(bottom=min(cooperative / payments[-1], last_gas) / 2)  # room for the labels under the lines
    ax.set_xticks(payments)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.0f}"))
    ax.set_xlabel("L2 transfers per rollup batch, or payments over a channel's life")
    ax.set_ylabel("Layer-1 gas per L2 transfer (log scale)")
    ax.set_title("What one Layer-2 payment costs on Layer 1 (Prague gas rules, embedded py-evm)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper right", fontsize=8.5, framealpha=0.95)
    fig.tight_layout()

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp.png")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, target)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
