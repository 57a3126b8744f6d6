"""B4's peak memory is the rescore process's own, not the bench runner's it was spawned
from (Linux's ru_maxrss for a child counts the parent's address space before exec)."""

import sys
from pathlib import Path

import pytest

from bench.b4_rescore import run_measured

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads VmHWM from Linux's /proc"
)

CHILD = (
    "import time; block = bytearray(64 * 1024 * 1024); "
    "[block.__setitem__(i, 1) for i in range(0, len(block), 4096)]; time.sleep(0.5)"
)


def test_the_peak_is_the_childs_whatever_the_parent_holds():
    held = bytearray(256 * 1024 * 1024)
    for i in range(0, len(held), 4096):  # resident, not just reserved
        held[i] = 1
    seconds, peak_mib = run_measured([sys.executable, "-c", CHILD])
    assert seconds >= 0.5
    # 64 MiB touched plus the interpreter; nowhere near the 256 MiB the parent holds.
    assert 64 <= peak_mib < 64 + 60


def test_a_failing_command_says_so():
    with pytest.raises(RuntimeError, match="boom"):
        run_measured([sys.executable, "-c", "raise SystemExit('boom')"])
