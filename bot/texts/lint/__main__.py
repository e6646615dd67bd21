"""``python -m bot.texts.lint [path ...]``: lint prompt files from the command line."""

from bot.texts.lint.files import main

raise SystemExit(main())
