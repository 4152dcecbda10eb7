"""Print gomaxprocs() as seen inside a run.

    python gomaxprocs.py            run(main): GOMAXPROCS env var or default
    python gomaxprocs.py N          run(main, gomaxprocs=N)
"""

from __future__ import annotations

import sys

import goroutines as gr


async def main() -> int:
    return gr.gomaxprocs()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(gr.run(main, gomaxprocs=int(sys.argv[1])))
    else:
        print(gr.run(main))
