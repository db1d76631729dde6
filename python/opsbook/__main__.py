"""``python -m opsbook``: the same as the ``opsbook`` command."""

from __future__ import annotations

import sys

from opsbook.cli import main

sys.exit(main())
