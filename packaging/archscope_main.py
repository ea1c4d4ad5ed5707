"""The bundle's entry point: the `archscope` command (app/cli.py)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A parallel run's ranks are spawned processes (torchrun's agent, start method "spawn"):
    # in a frozen app each starts as this executable, and freeze_support turns it into the
    # rank it should be instead of a second ArchScope. A no-op outside a bundle.
    multiprocessing.freeze_support()
    from app.cli import main

    sys.exit(main())
