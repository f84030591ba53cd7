"""`python -m l2 ...` is the `l2` command."""

import sys

from l2.commands.cli import main

sys.exit(main())
