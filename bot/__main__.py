"""``python -m bot`` is the ``support-router`` command line."""

import sys

from bot.cli import main

sys.exit(main())
