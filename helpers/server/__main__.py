"""Entry point, above the layers. May import: helpers.server.app.

`python -m helpers.server ...`: the local server's command line (helpers.server.app.cli).
"""

import sys

from helpers.server.app.cli import main

sys.exit(main())
