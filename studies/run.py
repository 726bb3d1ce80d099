"""The study runner: ``python -m studies.run <study> [--preset quick]``.

Optuna searches, Ray runs the trials, Parquet keeps the results (issue #4). Until a study is
built, naming it prints one line saying so; unknown names and bad flags exit with code 2.
"""

from __future__ import annotations

import argparse
import sys

PLANNED = {
    "hyperlstm_ptb": "HyperLSTM char-LM on PTB: search N_z, N_h-hat, layer norm, dropout, lr",
    "hyperlstm_ablation": "LSTM / LN-LSTM / HyperLSTM / LN-HyperLSTM on PTB, equal budgets",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m studies.run",
                                     description="Run an Optuna study whose trials run on Ray.")
    parser.add_argument("study", nargs="?", help="study name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--preset", default="quick", choices=("smoke", "quick", "paper"))
    parser.add_argument("--data-dir", default=None, help="data root searched first")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list or not args.study:
        for name, description in PLANNED.items():
            print(f"{name:20s} {description} (not available yet)")
        return 0
    if args.study not in PLANNED:
        print(f"error: unknown study {args.study!r}; known: {', '.join(PLANNED)}", file=sys.stderr)
        return 2
    print(f"{args.study}: not available yet (the study runner lands with issue #4); "
          "`make test` checks what is built")
    return 0


if __name__ == "__main__":
    sys.exit(main())
