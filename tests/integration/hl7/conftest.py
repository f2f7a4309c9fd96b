"""Makes the MLLP test harness importable as `hl7_harness`.

`tests.integration.hl7.hl7_harness` cannot be imported by its package path: a third-party
distribution in the virtual environment installs a regular package named `tests`, which wins over
this namespace directory. The harness directory is put on sys.path instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
