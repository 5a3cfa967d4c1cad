"""Make the camera simulator (tools/camera_simulator/src) importable without installing it.

The simulator is also a pip-installable package (``pip install ./tools/camera_simulator``); the tests use the
source tree so a fresh clone set up by scripts/bootstrap-venv.sh runs them as is.
"""

import sys
from pathlib import Path

SIMULATOR_SRC = Path(__file__).resolve().parents[3] / "tools" / "camera_simulator" / "src"
if str(SIMULATOR_SRC) not in sys.path:
    sys.path.insert(0, str(SIMULATOR_SRC))
