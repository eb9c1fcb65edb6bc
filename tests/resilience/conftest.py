"""The integration fixtures (fake upstream, CLI runner) serve these suites too."""

from tests.integration.conftest import fast_retries, sync, upstream  # noqa: F401
