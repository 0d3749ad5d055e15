"""Property-based tests of the live OpenAPI schema (schemathesis).

The schema is loaded from the running application (``/api/openapi.json`` through Django's WSGI
handler) and every operation is called with generated valid and invalid input, with a real
token, as a supervisor and as an agent. Every schemathesis check runs: no server error, every
answer documented and matching its response schema, invalid input refused, auth enforced.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings

from .conftest import ApiWorld, api_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# 4xx answers to well-formed input that the business rules refuse: a code not on the call's
# menu or a customer who may not be contacted (422). Everything else schemathesis expects.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
            }
        }
    }
)


# Loaded when the module is collected (no database needed to build the schema).
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler(), config=CONFIG)


@pytest.fixture
def world(db: None, wsgi_in_test_transaction: None) -> ApiWorld:
    return api_world()


def call(case: schemathesis.Case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})


QUIET = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@schema.parametrize()
@QUIET
def test_api_conforms_to_its_schema_as_supervisor(case: schemathesis.Case, world: ApiWorld) -> None:
    call(case, world.tokens["supervisor"])


@schema.parametrize()
@QUIET
def test_api_conforms_to_its_schema_as_agent(case: schemathesis.Case, world: ApiWorld) -> None:
    call(case, world.tokens["agent1"])
