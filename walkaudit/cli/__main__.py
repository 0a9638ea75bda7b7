"""`python -m walkaudit.cli`, the same as the `walkaudit` command (the server's demo uses it)."""

import sys

from walkaudit.cli import main

sys.exit(main())
