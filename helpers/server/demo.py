"""Entry point, above the layers. May import: helpers.server.app.

`python -m helpers.server.demo ...`: the classroom demo's command line (`make demo`).

Only the entry point: the demo's routes and page are helpers.server.app.demo, its command line
helpers.server.app.cli.
"""

import sys

from helpers.server.app.cli import demo_main

if __name__ == "__main__":
    sys.exit(demo_main())
