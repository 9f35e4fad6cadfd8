"""``python -m eie_sim.cli``: the same as the ``eie-sim`` command."""

import sys

from .app import main

sys.exit(main())
