from smtptui.cli import main

raise SystemExit(main())
