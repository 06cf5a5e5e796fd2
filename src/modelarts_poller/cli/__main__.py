"""``python -m modelarts_poller.cli``: the same as the ``modelarts-poller`` command."""

import sys

from . import main

sys.exit(main())
