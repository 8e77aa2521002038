"""``python -m inplay.dashboard``: the same as ``python -m inplay.dashboard.run``."""

import sys

from inplay.dashboard.run import main

sys.exit(main())
