"""Shared samples for the Emites-Client tests: vendor answers, sales, configurations."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from posapp.config import Config, EmitesConfig, StoreConfig, emitter_profile
from posapp.domain.issuance import IssueContext
from posapp.domain.sale import Sale
from posapp.protocol.emitter import EmitterProfile
from posapp.protocol.framing import Frame
from tests.conftest import sale_mapping

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "emites"

# The vendor's published answers (tests/fixtures/SOURCES.md).
PUBLISHED_SUCESSO = (FIXTURES / "nfce_response.json").read_text(encoding="utf-8")
PUBLISHED_CANCELADA = (FIXTURES / "nfce_cancel_response.json").read_text(encoding="utf-8")
BROKEN_TOKEN = '"quantidade_vendida": 1,.00'
# The one-token repair that makes the published sucesso answer valid JSON.
REPAIRED_SUCESSO = PUBLISHED_SUCESSO.replace(BROKEN_TOKEN, '"quantidade_vendida": 1.00,')

# Facts of the real homologação note inside the published answers.
XML_CHAVE = "53181022769530000131651110000002761101117841"  # the nfeProc in nfce_response.json
ANSWER_CHAVE = "53181222769530000131650090000001731531212514"  # resposta_emissao / the cancel


def load(text: str) -> dict[str, Any]:
    data = json.loads(text, parse_float=Decimal)
    assert isinstance(data, dict)
    return data


def authorized_xml() -> bytes:
    return base64.b64decode(load(REPAIRED_SUCESSO)["xml"])


def offline_xml() -> bytes:
    """The real note as if issued in offline contingency: ``tpEmis`` 9, no ``protNFe`` yet."""
    xml = authorized_xml().replace(b"<tpEmis>1</tpEmis>", b"<tpEmis>9</tpEmis>")
    start, end = xml.index(b"<protNFe"), xml.index(b"</protNFe>") + len(b"</protNFe>")
    return xml[:start] + xml[end:]


def danfe_pdf() -> bytes:
    return base64.b64decode(load(REPAIRED_SUCESSO)["danfe"])


def frame_of(identifier: str, text: str, encoding: str = "iso-8859-1") -> Frame:
    return Frame(identifier, text.encode(encoding))


def config(
    *,
    environment: str = "homologacao",
    text_policy: str = "latin1",
    port: int = 3434,
    connect_timeout_s: float = 1.0,
    response_timeout_s: float = 90.0,
    uf: str = "DF",
) -> Config:
    return Config(
        store=StoreConfig(environment=environment, uf=uf),
        emites=EmitesConfig(
            host="127.0.0.1",
            port=port,
            connect_timeout_s=connect_timeout_s,
            response_timeout_s=response_timeout_s,
            text_policy=text_policy,
        ),
    )


def profile(**settings: Any) -> EmitterProfile:
    """The emitter profile the Emites backend builds from :func:`config` with these settings."""
    return emitter_profile(config(**settings))


def context(sale_id: str = "sale0001", **overrides: Any) -> IssueContext:
    sale = Sale.from_mapping(sale_mapping(**overrides), sale_id=sale_id)
    return IssueContext(sale=sale, reference=sale.sale_id)


def sucesso_answer(
    *,
    chave: str = XML_CHAVE,
    reference: str | None = None,
    with_data_emissao: bool = True,
    numero_key: str = "nfce_number",
) -> dict[str, Any]:
    """A self-consistent ``sucesso`` answer around the real authorized XML and DANFE."""
    answer: dict[str, Any] = {
        "status": "sucesso",
        "id": 477,
        numero_key: 276,
        "serie": 111,
        "forma_de_pagamento": [{"tipo_de_pagamento": "01", "valor_do_pagamento": Decimal("603.90")}],
        "resposta_emissao": {
            "chave_acesso": chave,
            "numero_protocolo": "353180004134006",
            "codigo_verificacao": "B86720B260F3D5A07EC9F0A84F3AE011DBEA30D1",
        },
        "xml": base64.b64encode(authorized_xml()).decode("ascii"),
        "danfe": base64.b64encode(danfe_pdf()).decode("ascii"),
    }
    if with_data_emissao:
        answer["resposta_emissao"]["data_emissao"] = "2018-10-09T12:53:16Z"
    if reference is not None:
        answer["informacoes_adicionais"] = {"informacoes_contribuinte": f"Obrigado PDV-REF:{reference}"}
    return answer
