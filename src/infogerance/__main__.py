from infogerance.cli import main

raise SystemExit(main())
