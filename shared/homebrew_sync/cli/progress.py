"""A progress bar on a terminal (rich, on stderr); silent when output is not a terminal."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from homebrew_sync.runner import ProgressEvent


class TerminalProgress:
    """Bytes on the bar, bottles in the description; updates from worker threads are fine."""

    def __init__(self, total_bottles: int, total_bytes: int, *, enabled: bool | None = None) -> None:
        console = Console(stderr=True)
        self.enabled = console.is_terminal if enabled is None else enabled
        self.total_bottles = total_bottles
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.enabled,
        )
        self._task = self._progress.add_task(self._describe(0, 0), total=total_bytes or None)

    def _describe(self, done: int, failed: int) -> str:
        extra = f", {failed} failed" if failed else ""
        return f"bottles {done}/{self.total_bottles}{extra}"

    def on_bytes(self, count: int) -> None:
        self._progress.advance(self._task, count)

    def on_progress(self, event: ProgressEvent) -> None:
        self._progress.update(self._task, description=self._describe(event.done, event.failed))

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()
