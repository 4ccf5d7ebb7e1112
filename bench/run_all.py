"""Run every benchmark in this folder (bench_*.py) in turn: `make bench`.

Each benchmark prints its own table and writes JSON results to bench/out/. Benchmarks
report ratios measured side by side in one run, since this 2-core machine is shared and
absolute times drift.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
