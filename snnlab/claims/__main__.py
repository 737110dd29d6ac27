"""``python -m snnlab.claims ...`` (the same as ``snnlab claims ...``)."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
