"""`python -m shelfsync.core` runs the `shelfsync` command."""

from shelfsync.core.cli import main

if __name__ == "__main__":
    main()
