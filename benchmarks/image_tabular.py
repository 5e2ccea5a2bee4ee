"""Images and tables in one process: `benchmarks/image.py` and `benchmarks/tabular.py` together.

    .venv/bin/python benchmarks/image_tabular.py [--full] [--threads N]

Each part runs its baselines and featureship on the same split in the same run (see those
scripts for the protocols); this script only runs both and prints every row as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import image  # noqa: E402
import tabular  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Also train on all 60,000 Fashion-MNIST images.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for the image part.")
    args = parser.parse_args()
    rows = [{"part": "image", **row} for row in image.run(args.full, args.threads)]
    rows += [{"part": "tabular", **row} for row in tabular.run()]
    json.dump(rows, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
