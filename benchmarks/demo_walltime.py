"""Wall time of ``dunning-plus demo`` (generate, simulate, save, report), in-process.

python benchmarks/demo_walltime.py [--repeat 3] [--customers 200] [--invoices 2000] [--days 120]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dunning_plus.cli.main import main as cli_main


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--repeat", type=int, default=3)
	ap.add_argument("--customers", type=int, default=200)
	ap.add_argument("--invoices", type=int, default=2000)
	ap.add_argument("--days", type=int, default=120)
	args = ap.parse_args()
	times = []
	with tempfile.TemporaryDirectory() as tmp:
		for i in range(args.repeat):
			db = Path(tmp) / f"demo-{i}.sqlite"
			argv = [
				"demo",
				"--json",
				"--db",
				str(db),
				"--customers",
				str(args.customers),
				"--invoices",
				str(args.invoices),
				"--days",
				str(args.days),
			]
			t0 = time.perf_counter()
			with contextlib.redirect_stdout(io.StringIO()):
				rc = cli_main(argv)
			times.append(time.perf_counter() - t0)
			if rc != 0:
				print(f"demo failed with exit code {rc}", file=sys.stderr)
				return rc
	print(
		f"demo ({args.customers} customers, {args.invoices} invoices, {args.days} days): "
		f"median {statistics.median(times):.2f} s, min {min(times):.2f} s over {len(times)} runs"
	)
	return 0


if __name__ == "__main__":
	sys.exit(main())
