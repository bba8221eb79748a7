"""`python -m bench.chaos [--short | --minutes N] [--seed S]`: exit 0 only if nothing was lost."""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench.chaos.campaign import Options, run_campaign
from bench.chaos.report import render

SHORT_SEED = 20261127


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="every fault once, short outages")
    parser.add_argument("--minutes", type=float, default=30.0, help="fault schedule length")
    parser.add_argument("--seed", type=int, default=None, help="schedule and load seed")
    parser.add_argument("--rate", type=float, default=200.0, help="steady documents per second")
    parser.add_argument("--portfolios", type=int, default=500)
    parser.add_argument("--rss-limit-mib", type=int, default=1024)
    parser.add_argument(
        "--faults", default="", help="comma-separated fault kinds to draw from (default: all)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="kept; default a temp dir")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else SHORT_SEED
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alphap-chaos-"))
    return Options(
        minutes=2.0 if args.short else args.minutes,
        seed=seed,
        rate=args.rate,
        portfolios=args.portfolios,
        short=args.short,
        workdir=workdir,
        rss_limit_mib=args.rss_limit_mib,
        recovery_timeout=60.0 if args.short else 120.0,
        only=frozenset(kind for kind in args.faults.split(",") if kind),
    )


def _stop(signum: int, _: FrameType | None) -> None:
    # Unwind through the campaign's cleanup (daemon, proxies, servers) on SIGTERM too.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    arguments = sys.argv[1:] if argv is None else argv
    options = parse(arguments)
    outcome = run_campaign(options)
    print(render(outcome, shlex.join(["python", "-m", "bench.chaos", *arguments])))
    if outcome.passed:
        if "--workdir" not in arguments:
            shutil.rmtree(options.workdir, ignore_errors=True)
        return 0
    print(f"\nkept for inspection: {options.workdir} (daemon.log)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
