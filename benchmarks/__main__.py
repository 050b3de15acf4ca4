"""python -m benchmarks run [flags]   the SMPP benchmark (default: the headline sustained run)
python -m benchmarks http [flags]  the Twilio HTTP benchmark
python -m benchmarks hotpath       the per-message hot path in one process, no sockets"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and not argv[0].startswith("-") else "run"
    if command == "run":
        from .run import main as run_main

        return run_main(argv)
    if command == "http":
        from .http_bench import main as http_main

        return http_main(argv)
    if command == "hotpath":
        from .hotpath import main as hotpath_main

        return hotpath_main(argv)
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
