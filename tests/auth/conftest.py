from tests.auth.fixtures import (  # noqa: F401
    admin_key,
    client_key,
    curator_key,
    evaluator_key,
    make_key,
    reviewer_key,
)
