"""`python -m app` is the `archscope` command."""

import sys

from .cli import main

sys.exit(main())
