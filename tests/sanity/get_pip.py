"""ansible-test's pip bootstrap, offline.

ansible-test sets up each sanity test's virtual environment by running a pip bootstrap script it
downloads from ci-files.testing.ansible.com, which this machine's network does not reach. `make
sanity` puts this file where ansible-test caches that script (~/.ansible/test/cache/get_pip_*.py):
the interpreter's own ensurepip installs pip, which then installs what ansible-test asked for
(pip of the requested version among them) from PyPI, as the downloaded script would.
"""

import subprocess
import sys

# get-pip's own options (not pip's): leave setuptools and wheel out.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

# In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its own environment, which
# would hide the machine's pip configuration (its index and CA settings) from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args]))
