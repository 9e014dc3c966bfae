from aperto.cli.main import main

raise SystemExit(main())
