"""Makes `import london_summary` and `import botyard` work in these tests, as the host does for a worker."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))  # strategies/
sys.path.insert(0, os.path.join(HERE, "..", "..", "sdk", "python"))  # the botyard SDK
