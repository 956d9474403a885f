"""Start and control the Proxmox simulator (tests/pvesim) for the client's
end-to-end tests and the benchmark: tests/lib/pvesim_client.py with a request
log file (self.reqlog). Standard library only."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import pvesim_client  # noqa: E402  (the simulator client shared with tests/e2e/e2elib.py)
from pvesim_client import SimUnavailable  # noqa: E402,F401

DEFAULT_SIM = pvesim_client.SIM


class Sim(pvesim_client.Sim):
    """One simulator process on 127.0.0.1 with its own state directory and request log."""

    def __init__(self, cluster, args=(), sim=DEFAULT_SIM, timeout=30):
        super().__init__(cluster, args, sim=sim, timeout=timeout, prefix="pvfio-e2e-", request_log=True)
