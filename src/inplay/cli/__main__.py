"""``python -m inplay.cli``: the same as the ``inplay`` command."""

import sys

from inplay.cli import main

sys.exit(main())
