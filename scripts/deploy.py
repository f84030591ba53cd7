#!/usr/bin/env python3
"""Deploy the l2 Layer-1 contracts.

    python scripts/deploy.py [--rpc-url URL] [--private-key-env NAME] [--out FILE] [--force]

Without --rpc-url it deploys to a fresh embedded chain (a dry run that shows
gas). With one, it writes deployments/<chainId>.json; a second run against the
same node reports each unchanged contract and sends nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from l2.commands.deploy import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
