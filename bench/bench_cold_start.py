"""Issue 2: cold start of `escalation predict` against `import sklearn.linear_model`.

Runs the two commands alternately, five times each, and reports the medians and their
ratio: absolute times drift on this shared machine, the ratio much less.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
BIN = Path(sys.executable).parent
COMMANDS = {
    "escalation predict": [str(BIN / "escalation"), "predict", "Troops massed on the border."],
    "import sklearn.linear_model": [sys.executable, "-c", "import sklearn.linear_model"],
}
TARGET = 0.35


def wall(command) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    for command in COMMANDS.values():  # warm the file cache once
        wall(command)
    times = {name: [] for name in COMMANDS}
    for _ in range(5):
        for name, command in COMMANDS.items():
            times[name].append(wall(command))
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        print(f"{name:<30} median {median:.3f} s   runs {', '.join(f'{t:.3f}' for t in times[name])}")
    ratio = medians["escalation predict"] / medians["import sklearn.linear_model"]
    verdict = "meets" if medians["escalation predict"] <= TARGET else "misses"
    print(f"predict / sklearn import = {ratio:.2f}; predict {verdict} the {TARGET} s target")
    OUT.mkdir(exist_ok=True)
    (OUT / "cold_start.json").write_text(json.dumps({"times": times, "medians": medians, "ratio": ratio}, indent=1))


if __name__ == "__main__":
    main()
