"""Fast Notas: the start-up capability check, over loopback against a server that answers
``GET /document_schemas`` as the public docs show (an NFS-e schema only)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import pytest

from posapp.config import Config, ProviderConfig
from posapp.domain.issuance import Health, IssueContext, Outcome, PreparedIssue
from posapp.domain.sale import Sale
from posapp.fiscal.errors import BackendUnsupported
from posapp.fiscal.fastnotas import FastNotasBackend
from posapp.fiscal.router import FailoverRouter
from posapp.sim.http_sim import HttpSimulator, SimRequest, SimResponse
from tests.conftest import sale_mapping
from tests.fiscal.provider_helpers import run

API_KEY = "fastnotas-test-api-key-0001"

# The document_schema the Fast Notas reference shows ("Retornando tipos de documento").
NFSE_SCHEMA = {
    "id": "b7658863-988b-4e44-9632-a93a282dd41a",
    "name": "Nota fiscal de serviço",
    "code": "NFS-e",
    "type": "Invoice::Nfse",
    "status": "active",
    "serie": "FASTN",
    "sequence": 1,
    "credentials": {"certificate": "[FILTERED]", "password": "[FILTERED]", "expiration_date": "2020-12-30"},
    "parameters": {"municipal_registration": "12211"},
}


class FastNotasSimulator(HttpSimulator):
    """Just enough of Fast Notas for the capability check and the documented issue call."""

    name = "fastnotas"
    path_prefix = "/v1"

    def __init__(self, schemas: list[dict[str, Any]]) -> None:
        super().__init__(token=API_KEY)
        self.schemas = schemas
        self.refuse_documents = False  # answer POST /documents with a 422 and its errors

    def authorized(self, request: SimRequest) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user = base64.b64decode(header[6:]).decode().partition(":")[0]
        return self.matches_token(user)

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path.removeprefix("/v1")
        if request.method == "GET" and path == "/document_schemas":
            return SimResponse.json(200, self.schemas)
        if request.method == "POST" and path == "/documents" and self.refuse_documents:
            return SimResponse.json(422, {"errors": {"amount": ["must be greater than 0"]}})
        if request.method == "POST" and path == "/documents":
            document = {"id": "728a124f", "status": "processing", "last_operation": {"status": "processing"}}
            return SimResponse.json(201, [document], accepted=True)
        return SimResponse.json(404, {"errors": ["not found"]})


@pytest.fixture
def nfse_only() -> Iterator[FastNotasSimulator]:
    with FastNotasSimulator([NFSE_SCHEMA]) as simulator:
        yield simulator


def backend_for(sim: FastNotasSimulator, token: str = API_KEY) -> FastNotasBackend:
    return FastNotasBackend(
        ProviderConfig(name="fastnotas", base_url=sim.url, timeout_s=3), Config(), token=token
    )


def context() -> IssueContext:
    return IssueContext(sale=Sale.from_mapping(sale_mapping()), reference="s1")


def test_unchecked_account_is_never_chosen() -> None:
    backend = FastNotasBackend(
        ProviderConfig(name="fastnotas", base_url="http://127.0.0.1:9"), Config(), token=API_KEY
    )
    caps = backend.capabilities
    assert caps.issues_nfce is False and "não verificada" in caps.reason
    assert FailoverRouter([backend]).ordered_for_issue() == []
    run(backend.aclose())


def test_nfse_account_is_reported_unable_to_issue_nfce(nfse_only: FastNotasSimulator) -> None:
    async def scenario() -> None:
        backend = backend_for(nfse_only)
        router = FailoverRouter([backend])
        async with aclosing(backend):
            health = await router.probe_all()  # the start-up probe runs the capability check
            assert health == {"fastnotas": Health.UP}
            caps = backend.capabilities
            assert caps.issues_nfce is False and caps.can_query is False
            assert "não emite NFC-e" in caps.reason and "Invoice::Nfse" in caps.reason
            assert [s.type for s in backend.schemas] == ["Invoice::Nfse"]
            assert router.ordered_for_issue() == []
            with pytest.raises(BackendUnsupported) as unsupported:
                backend.prepare_issue(context())
            assert unsupported.value.user_message == caps.reason
            result = await backend.send_issue(PreparedIssue("fastnotas", "s1", b"{}"))
            assert result.outcome is Outcome.NOT_SENT

    run(scenario())
    assert not nfse_only.requests_to("POST", "/v1/documents")
    assert len(nfse_only.requests_to("GET", "/v1/document_schemas")) == 1


def test_refused_api_key_is_down_and_says_why(nfse_only: FastNotasSimulator) -> None:
    async def scenario() -> None:
        async with aclosing(backend_for(nfse_only, token="wrong-key-000000000")) as backend:
            assert await backend.probe() is Health.DOWN
            assert "recusou a chave" in backend.capabilities.reason

    run(scenario())


def test_an_account_with_a_consumer_receipt_schema_would_be_used() -> None:
    schema = {**NFSE_SCHEMA, "id": "nfce-1", "type": "DocumentSchema::Invoice::Nfce::Df", "code": "NFC-e"}
    with FastNotasSimulator([NFSE_SCHEMA, schema]) as sim:

        async def scenario() -> None:
            async with aclosing(backend_for(sim)) as backend:
                caps = await backend.check_capabilities()
                assert caps.issues_nfce is True
                prepared = backend.prepare_issue(context())
                assert b'"document_schema_id":"nfce-1"' in prepared.payload
                result = await backend.send_issue(prepared)
                # processing, and no idempotency key to look it up by: a person decides
                assert result.outcome is Outcome.IN_DOUBT

        run(scenario())
        assert len(sim.requests_to("POST", "/v1/documents")) == 1


def test_no_false_verdicts_from_fast_notas() -> None:
    """A 5xx after the document was created, and a refusal whose body cannot be read, leave
    the sale in doubt; only Fast Notas's own readable 422 is a rejection."""
    schema = {**NFSE_SCHEMA, "id": "nfce-1", "type": "DocumentSchema::Invoice::Nfce::Df", "code": "NFC-e"}
    with FastNotasSimulator([schema]) as sim:

        async def scenario() -> None:
            async with aclosing(backend_for(sim)) as backend:
                assert (await backend.check_capabilities()).issues_nfce is True
                prepared = backend.prepare_issue(context())
                sim.faults.error_after_accept = 500
                assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT
                sim.faults.clear()
                sim.refuse_documents = True
                for mode in ("html", "truncated", "huge_numbers"):
                    sim.faults.garbage = mode
                    assert (await backend.send_issue(prepared)).outcome is Outcome.IN_DOUBT, mode
                sim.faults.clear()
                refused = await backend.send_issue(prepared)
                assert refused.outcome is Outcome.REJECTED
                assert refused.errors == ("amount: must be greater than 0",)

        run(scenario())
