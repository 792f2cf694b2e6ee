from r1harness.cli import main

raise SystemExit(main())
