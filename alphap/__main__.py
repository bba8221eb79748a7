"""`python -m alphap` is the same program as the `alphap` console script."""

from alphap.cli import main

raise SystemExit(main())
