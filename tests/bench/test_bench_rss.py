"""bench/ingest.py measures the load's own peak memory, not what its parent had used."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

from config import ROOT

BENCH = ROOT / "bench" / "ingest.py"
CHILD = (
    "import importlib.util, json, sys\n"
    f"spec = importlib.util.spec_from_file_location('bench_ingest', {str(BENCH)!r})\n"
    "bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)\n"
    "print(json.dumps(bench.peak_rss_mb()))\n"
)


def test_peak_rss_is_the_childs_own_not_its_parents() -> None:
    # The parent touches 300 MB and frees them, as the bench does generating its file.
    big = bytearray(300 * 1024 * 1024)
    big[::4096] = b"\1" * len(range(0, len(big), 4096))
    del big
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    own = json.loads(output)
    # What wait4 says includes the parent's peak (Linux keeps it across fork and exec)...
    assert usage.ru_maxrss / 1024 > 300
    # ...the child's VmHWM is what the child itself used: a bare interpreter and the module.
    assert 5 < own < 200


def test_peak_rss_of_this_process() -> None:
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with open("/proc/self/status", encoding="ascii") as status:
        rss = next(int(x.split()[1]) for x in status if x.startswith("VmRSS:")) / 1024
    assert bench.peak_rss_mb() >= rss
