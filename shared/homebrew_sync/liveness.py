"""Is the process that left something behind (a lock, a write guard, a partial file) still alive?

Writers name themselves `host:pid[:...]`; a writer on this machine whose pid no longer exists was killed,
so what it left need not be waited out. A writer on another machine is never presumed dead.
"""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_is_gone(pid: int) -> bool:
    """True only if no process with this pid exists here (ours never counts as gone)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def writer_is_gone(writer: str) -> bool:
    """For `host:pid[:...]`: the host is this one and the pid no longer exists."""
    host, _, rest = writer.partition(":")
    pid_text = rest.partition(":")[0]
    return host == socket.gethostname() and pid_text.isdigit() and pid_is_gone(int(pid_text))
