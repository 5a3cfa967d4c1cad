"""``python -m sensingcam_simulator``: same as the ``sensingcam-simulator`` command."""

import sys

from .cli import main

sys.exit(main())
