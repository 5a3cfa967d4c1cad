"""Make the collection importable as ``ansible_collections.sensingcam.ming`` for every test.

scripts/bootstrap-venv.sh links the repository at .collections/ansible_collections/sensingcam/ming, the
layout Ansible itself uses to load collection plugins.
"""

import sys
from pathlib import Path

COLLECTIONS_ROOT = Path(__file__).resolve().parents[1] / ".collections"
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
