"""Run a long-lived server command so that Ctrl-C or SIGTERM stops ALL of its processes.

``kedro viz run`` serves from a multiprocessing child; SIGTERM to ``kedro`` ends only the
parent and the child keeps serving (the port stays taken). ``mlflow ui`` / ``mlflow models serve``
/ ``jupyter lab`` start workers the same way. Here the command runs in a process group of its
own, and SIGINT / SIGTERM / SIGHUP received by this wrapper go to that whole group; when the
command ends, whatever it left behind in its group is terminated too. GNU make passes SIGTERM on to
the recipe's process, so ``make viz`` (``make serve``, ...) stopped by either signal leaves nothing.

Usage: python scripts/run_in_group.py COMMAND [ARGS...]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the group is already gone
        pass


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    process = subprocess.Popen(argv, start_new_session=True)
    received: list[int] = []

    def forward(sig, _frame) -> None:
        received.append(sig)
        _kill_group(process.pid, sig)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    code = process.wait()
    _kill_group(process.pid, signal.SIGTERM)  # stragglers of the group (e.g. kedro-viz's server)
    if received:  # stopped on purpose: the conventional 128 + signal status
        return 128 + received[0]
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
