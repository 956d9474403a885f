#!/usr/bin/env python3
"""Run pvesim's own tests (unittest) and the conformance set.

Usage: run_tests.py [-v] [-k PATTERN] [TESTMODULE...]
Prints a closing line "N passed, N failed" and exits 1 if anything failed.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tests"))


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(argv):
    verbosity = 1
    patterns = []
    names = []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-v":
            verbosity = 2
        elif a == "-k":
            patterns.append(args.pop(0))
        else:
            names.append(a)
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    if names:
        suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in names)
    else:
        suite = loader.discover(os.path.join(HERE, "tests"), pattern="test_*.py", top_level_dir=os.path.join(HERE, "tests"))
    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=CountingResult, stream=sys.stderr)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    sys.stdout.write("%d passed, %d failed\n" % (result.passed, failed))
    sys.stdout.flush()
    return 1 if failed or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
