"""The API tests of forms use the web tests' app (a database of its own, the seed catalogue)."""

from tests.web.conftest import web_api, web_app

__all__ = ["web_api", "web_app"]
