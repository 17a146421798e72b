"""``python -m genesys_identity bench``: how the generator's cost grows with the size of the contact center.

For each size N it writes a scratch project whose program declares N web deployments, each with its own
Messenger, participant attribute catalog, four data actions, two rendered and checked flows, queues and SMS
routing (the dev stack's settings under N name prefixes), then evaluates it under Pulumi's mocks and writes
the plan, in a fresh process. It prints resources, seconds, milliseconds per resource and plan size.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = '''"""Benchmark program: {n} contact centers in one stack."""
import dataclasses

import pulumi

from genesys_identity.program import build
from genesys_identity.settings import from_pulumi

settings = from_pulumi()
for index in range({n}):
    scoped = dataclasses.replace(settings, name_prefix=f"{{settings.name_prefix}}-{{index}}")
    for key, value in build(scoped, scope=f"cc{{index}}-").items():
        pulumi.export(f"cc{{index}}-{{key}}", value)
'''

MEASURE = '''
import sys, time
from pathlib import Path
started, cpu = time.perf_counter(), time.process_time()
from genesys_identity import plan as offline
result = offline.evaluate(Path(sys.argv[1]), "dev")
target = offline.write(result, Path(sys.argv[2]))
print(len(result.resources), time.perf_counter() - started, target.stat().st_size, time.process_time() - cpu)
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genesys_identity bench", description=__doc__)
    parser.add_argument("--sizes", default="1,10,100", help="numbers of web deployments (default 1,10,100)")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    print(f"{'deployments':>11} {'resources':>9} {'seconds':>8} {'cpu s':>6} {'ms/resource':>11} {'plan KiB':>9} {'vs 1':>6}")
    baseline: float | None = None
    for n in sizes:
        resources, seconds, size, cpu = measure(n)
        baseline = baseline or seconds / n
        print(f"{n:>11} {resources:>9} {seconds:>8.2f} {cpu:>6.2f} {1000 * seconds / resources:>11.2f} {size / 1024:>9.0f} "
              f"{seconds / (baseline * n):>6.2f}", flush=True)
    print("vs 1: seconds per deployment relative to the smallest size (1.00 = linear growth); "
          "cpu s: the process's CPU time (wall seconds grow when other work shares the machine)")
    return 0


def measure(n: int) -> tuple[int, float, int, float]:
    with tempfile.TemporaryDirectory(prefix="genesys-identity-bench-") as tmp:
        project = Path(tmp)
        for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
            shutil.copy(ROOT / name, project / name)
        (project / "__main__.py").write_text(PROGRAM.format(n=n))
        # Timed inside the fresh process: interpreter start-up does not grow with N and would blur the ratio.
        done = subprocess.run([sys.executable, "-c", MEASURE, str(project), str(project / "out")], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"benchmark of {n} failed: {done.stderr.strip()[-2000:]}")
        resources, seconds, size, cpu = done.stdout.split()
        return int(resources), float(seconds), int(size), float(cpu)


if __name__ == "__main__":
    sys.exit(main())

