"""`python -m gptviz ...`: see gptviz/cli.py."""

from gptviz.cli import main

raise SystemExit(main())
