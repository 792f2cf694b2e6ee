"""One module per verb; each defines `register(subparsers)`. See r1harness/cli.py."""
