#!/usr/bin/env python3
"""Deploy the l2 Layer-1 contracts.

    python scripts/deploy.py [--rpc-url URL] [--private-key-env NAME] [--out FILE] [--force]

Without --rpc-url it deploys to a fresh embedded chain (a dry run that shows
gas). With one, it writes deployments/<chainId>-<genesis>.json; a second run
against the same node reports each unchanged contract and sends nothing, and a
run that was interrupted resumes where it stopped.

Any python 3 runs it: one without l2's dependencies hands over to the checkout's
virtual environment (.venv, made by `make setup`).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

try:
    from l2.commands.deploy import main
except ModuleNotFoundError as missing:
    # `python` is often not the virtual environment's (a shell without it activated): web3 and the rest are
    # installed there, so run there. The variable keeps a broken environment from handing over forever.
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and not os.environ.get("L2_DEPLOY_HANDED_OVER"):
        os.environ["L2_DEPLOY_HANDED_OVER"] = "1"
        os.execv(venv_python, [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.exit(f"error: {missing.name} is not installed for {sys.executable}: run `make setup` in {ROOT} first")

if __name__ == "__main__":
    sys.exit(main())
