"""``python -m grader.data fetch mnist``: make sure a dataset's verified files are present.

The autograder image runs this at build time (``setup.sh``), so that grading never waits on a
download. The lookup is :func:`grader.data.find_dataset`'s: ``$MNIST_DIR`` when it holds the
verified files (then nothing is downloaded), else the cache (``$GRADER_CACHE``), else a
download into the cache, each file checked by sha256.
"""

from __future__ import annotations

import argparse
import sys

from grader.data.mnist import DATASETS, DatasetError, find_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="find or download datasets, verified by sha256")
    fetch.add_argument("names", nargs="+", choices=sorted(DATASETS), metavar="NAME",
                       help=f"one of: {', '.join(sorted(DATASETS))}")
    args = parser.parse_args(argv)
    status = 0
    for name in args.names:
        try:
            path = find_dataset(name)
        except DatasetError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
        else:
            print(f"{name}: {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
