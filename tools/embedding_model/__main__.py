"""`python -m tools.embedding_model [--out DIR] [--force]` (what `make model` runs)."""

import sys

from tools.embedding_model.build import main

sys.exit(main())
