"""The speed harness. Its code lives in chainrule/bench.py (``chainrule bench`` for users);
this script runs the same thing from a checkout:

    python benchmarks/core_speed.py            # full run, about 2 minutes; writes benchmarks/results/*.json and .png
    python benchmarks/core_speed.py --quick    # about a minute
    python benchmarks/core_speed.py --help     # every option

Only ratios between contenders within one run mean much on a shared machine.
"""

import sys

from chainrule.bench import main

if __name__ == "__main__":
    sys.exit(main())
