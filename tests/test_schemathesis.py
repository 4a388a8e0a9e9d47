"""The receiver against its own OpenAPI schema, with schemathesis over loopback.

Generated requests, with the right key and with whatever key schemathesis makes up,
must never get a 5xx, and every response must match the status codes, content
types, headers and bodies the schema documents.
"""

from __future__ import annotations

import collections
import itertools

import pytest
import requests
import schemathesis
from conftest import TEST_KEY
from hypothesis import HealthCheck, given, settings
from requests.adapters import HTTPAdapter
from schemathesis import checks

SCHEMA_PATH = "/schema/openapi.json"

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
"""The checks run on each response.

Left out on purpose: `positive_data_acceptance` and `negative_data_rejection`. The
receiver is strict about meaning, not form: a body that fits the schema is still
rejected when its timestamp lies more than a day ahead of the clock, and a body that
breaks it (a name sent as a number) is still stored, with a warning.
"""

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class SourceAddressAdapter(HTTPAdapter):
    """Send from one loopback address, so the wrong-key throttle of another address never delays it."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(number: int) -> requests.Session:
    """Return a session sending from 127.0.<number // 250 + 1>.<number % 250 + 1>."""
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", SourceAddressAdapter(f"127.0.{number // 250 + 1}.{number % 250 + 1}"))
    return session


def operations(live_server) -> list:
    """Load the schema the running receiver serves and return its operations."""
    served = live_server.client.get(SCHEMA_PATH)
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(served.json())
    found = [result.ok() for result in schema.get_all_operations()]
    assert {(operation.method.upper(), operation.path) for operation in found} >= {("POST", "/webhooks/acheckin"), ("GET", "/healthz")}
    return found


@pytest.mark.parametrize("send_key", [True, False])
def test_receiver_conforms_to_schema(live_server, send_key):
    headers = {"X-API-KEY": TEST_KEY} if send_key else {}

    examples = itertools.count()
    statuses: collections.Counter[int] = collections.Counter()
    for operation in operations(live_server):

        @SETTINGS
        @given(case=operation.as_strategy())
        def check(case):
            with session_from(next(examples)) as session:
                response = case.call(base_url=live_server.base_url, headers=headers, session=session)

            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)
            sent_key = {**(case.headers or {}), **headers}.get("X-API-KEY")
            if operation.path == "/webhooks/acheckin" and sent_key != TEST_KEY:
                assert response.status_code in (401, 413)

        check()

    assert statuses[200] > 0, statuses
    if send_key:
        assert statuses[200] + statuses[422] + statuses[400] > statuses[401], statuses
