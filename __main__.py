"""`python -m descend ...` runs the `descend` command line."""

import sys

from descend.cli import main

if __name__ == "__main__":
    sys.exit(main())
