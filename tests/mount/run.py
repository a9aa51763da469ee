#!/usr/bin/env python3
"""Runs the mount tests (every tests/mount/test_*.py) against real drukfs
mounts.

    DRUKFS=/path/to/drukfs python3 tests/mount/run.py [-v] [-k PATTERN]... [NAME...]

NAME is a unittest name relative to this directory (test_tree,
test_tree.TreeTest.test_modes).  The last line printed is always
"N passed, N failed" (", N skipped" follows when tests were skipped); the
exit status is non-zero when any test failed or errored.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True   # keep the source tree clean

# The whole run must end well inside meson's 900 s; a hang dumps every
# thread's stack and exits instead of being killed silently.
WATCHDOG_SECONDS = 850


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0
        self._started = 0.0

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _describe(self, test):
        describe = getattr(test, "describe_failure", None)
        if describe is None:
            return
        try:
            text = describe()
        except Exception as exc:  # never let a report hide the failure
            text = f"(could not describe the failure: {exc})"
        if text:
            self.stream.write("\n" + text + "\n")
            self.stream.flush()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._describe(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._describe(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._describe(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        if self.showAll:
            self.stream.write(f"    ({time.monotonic() - self._started:.1f}s)\n")
            self.stream.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="accepted for compatibility (output is always verbose)")
    parser.add_argument("-q", "--quiet", action="store_true", help="dots only")
    parser.add_argument("-k", dest="patterns", action="append", default=[],
                        help="only tests whose name contains PATTERN (repeatable)")
    parser.add_argument("names", nargs="*", help="test modules, classes or methods")
    args = parser.parse_args()

    if not os.environ.get("DRUKFS"):
        print("run.py: DRUKFS is not set (the path of the drukfs binary)", flush=True)
        print("0 passed, 1 failed")
        return 1

    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else f"*{p}*" for p in args.patterns]
    if args.names:
        suite = loader.loadTestsFromNames(args.names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1 if args.quiet else 2,
                                     resultclass=CountingResult)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # An expected failure is a known, documented limitation: it neither
    # passed nor failed, so it is reported with the skipped ones.
    skipped = len(result.skipped) + len(result.expectedFailures)
    line = f"{result.passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    sys.stdout.flush()
    sys.stderr.flush()
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
