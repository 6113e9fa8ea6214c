"""The speed harness from a checkout: ``chainrule bench`` (its library is src/chainrule/bench/, its
options src/chainrule/cli/bench.py), then the goals of benchmarks/targets.py on the result:

    python benchmarks/core_speed.py            # full run, 5 rounds, about 10 minutes; writes benchmarks/results/*.json and .png
    python benchmarks/core_speed.py --quick    # about 3 minutes
    python benchmarks/core_speed.py --help     # every option

Each contender runs in its own process, in rounds of rotated order; only ratios between contenders within
one run mean much on a shared machine (benchmarks/README.md, "How it measures").
"""

import datetime
import sys
from pathlib import Path

from chainrule.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--json" not in argv and not any(a.startswith("--json=") for a in argv) and not {"-h", "--help"} & set(argv):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        argv += ["--json", str(Path(__file__).parent / "results" / f"bench-{stamp}.json")]
    code = main(["bench", *argv])
    json_path = argv[argv.index("--json") + 1] if "--json" in argv else None
    if code == 0 and json_path:
        sys.path.insert(0, str(Path(__file__).parent))
        import targets

        print()
        code = targets.main([json_path])
    sys.exit(code)
