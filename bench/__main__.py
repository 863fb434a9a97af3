"""`python -m bench` (see bench/main.py); `python -m bench --quick` for a smoke run."""

from bench.main import main

raise SystemExit(main())
