from kenshu.cli import main

raise SystemExit(main())
