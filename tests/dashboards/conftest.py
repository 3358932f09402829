"""Makes the repository root importable, so `import dashboards` works under plain `pytest`
(the `dashboards` folder is tooling, not part of the installed `monitor` package)."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
