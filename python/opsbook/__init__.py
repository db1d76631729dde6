"""opsbook: operations runbooks as Ansible automation, callable from Python.

The runner facade (``opsbook.run``) grows here; see docs/ and the README.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"
__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
