"""A stand-in for the Lambda context object, for running handlers on one machine."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class FakeLambdaContext:
    """The attributes the handlers and Powertools read; `remaining_s` is the time budget it reports.

    `out_of_time_after` makes the budget run out after that many time checks, whatever the clock says,
    so a test of the hand-off does not depend on how fast this machine is.
    """

    function_name: str = "homebrew-sync-orchestrator"
    remaining_s: float = 900.0
    memory_limit_in_mb: int = 512
    region: str = "us-east-1"
    account: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    out_of_time_after: int | None = None
    _started: float = field(default_factory=time.monotonic)
    _checks: int = 0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        self._checks += 1
        if self.out_of_time_after is not None and self._checks > self.out_of_time_after:
            return 0
        return max(0, int((self.remaining_s - (time.monotonic() - self._started)) * 1000))
