"""The embedded server's fixtures (``lab``, ``tls_dir``) and the loop-error check,
shared with tests/server so the hostile cases run against the same server."""

from tests.server.conftest import lab, tls_dir  # noqa: F401  (fixtures)
from tests.server.test_hostile import loop_errors  # noqa: F401  (fixture)
