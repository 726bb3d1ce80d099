"""``python -m studies.dashboard``: optuna-dashboard on 127.0.0.1 for the study storage.

    python -m studies.dashboard                       # results/optuna.journal (or optuna.db)
    python -m studies.dashboard --storage journal:///runs/optuna.journal
    python -m studies.dashboard --storage postgresql+psycopg://user@host/db --port 8081
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studies._runner import journal
from studies._runner.config import ConfigError
from studies._runner.storage import check_storage_url, default_storage_url, hide_password


def _storage(url: str):
    """What optuna-dashboard serves: the URL of a database, the opened journal of a file."""
    check_storage_url(url)
    path = journal.journal_path(url)
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"no study storage at {path}; run a study first")
        return journal.open_journal(path, repair=False)  # a reader never cuts the file
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise ConfigError(f"no study storage at {url}; run a study first")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", help="journal:///path, or an Optuna RDB URL (default: "
                        "the storage in --results-dir)")
    parser.add_argument("--results-dir", default="results", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default=8080, type=int)
    args = parser.parse_args(argv)
    url = args.storage or default_storage_url(args.results_dir.resolve())
    try:
        storage = _storage(url)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from optuna_dashboard import run_server

    print(f"optuna-dashboard for {hide_password(url)} at http://{args.host}:{args.port}/")
    run_server(storage, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
