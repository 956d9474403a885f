#!/usr/bin/env python3
"""Start the Proxmox VE API simulator; see README.md (python3 pvesim.py --help)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pvesim.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
