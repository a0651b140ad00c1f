"""`python -m bot.plans ...`: see bot/plans/cli.py."""

import sys

from .cli import main

sys.exit(main())
