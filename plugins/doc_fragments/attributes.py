# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""What the check_mode and diff_mode attributes of opsbook's modules mean. A module states only its
support (and, under details, what it does in check mode); modules that only read use INFO_MODULE."""

from __future__ import annotations


class ModuleDocFragment:
    # extends_documentation_fragment: opsbook.runbooks.attributes
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Runs with C(--check) and reports whether it would change anything, without changing it.
  diff_mode:
    description: With C(--diff), returns what changed (in check mode, what would change).
"""

    # extends_documentation_fragment: [opsbook.runbooks.attributes, opsbook.runbooks.attributes.info_module]
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads, so it runs in check mode as usual.
  diff_mode:
    support: N/A
    details: The module only reads; there is nothing to diff.
"""
