#!/usr/bin/env python3
"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com
to put pip into the virtual environments it makes (`make ansible-sanity` installs this file
where ansible-test caches that script: that host is not reachable here, PyPI is).

ansible-test runs it as `PYTHON get_pip.py [--disable-pip-version-check] pip==X ... [--no-setuptools]
[--no-wheel]`: pip comes from the interpreter's own ensurepip, then the requested packages
(the pinned pip) from PyPI."""

import subprocess
import sys


def main() -> None:
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)


if __name__ == "__main__":
    main()
