"""``python -m builder.generate``: the generator's command line (see :func:`builder.generate.main`)."""

import sys

from builder.generate import main

sys.exit(main())
