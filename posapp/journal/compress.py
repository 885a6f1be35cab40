"""How the journal keeps bytes small: every document once, compressed, and raw answers
without a second copy of the documents they carry.

* :func:`pack` / :func:`unpack`: zlib with a preset dictionary of the words NFC-e XML and
  the issuers' answers repeat (tags, namespaces, JSON keys), behind a magic prefix that names
  the format. The dictionary is part of the format: never change :data:`_ZDICT_V1`; a new
  one gets a new magic.
* :func:`split_answer` / :func:`join_answer`: an issuer's raw answer (Emites-Client sends the
  nfeProc XML and the DANFE PDF in base64 inside its JSON) is stored as a *skeleton*: the
  answer with each document's base64 text cut out, and where it was cut, by the document's
  SHA-256. The document itself is stored once (the ``blobs`` table) and the answer is
  rebuilt byte for byte from both. A document the till does not keep (the DANFE PDF of a
  till printing natively) is cut out too and only its SHA-256 and size are kept: the
  rebuilt answer then has an empty string there. Base64 that does not match a document
  exactly (wrapped lines, escaped slashes) stays in the skeleton: nothing is ever lost.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from posapp.journal.errors import JournalUnavailable

MAGIC = b"PZ1:"  # zlib, level 9, preset dictionary v1
ANSWER_MAGIC = b"PA1:"  # a packed skeleton (see split_answer)

# The words an NFC-e nfeProc, its cancel event and the issuers' JSON repeat. Only helps
# compression (zlib finds matches in it); the format depends on its exact bytes.
_ZDICT_V1 = (
    b'"resposta_emissao": {"chave_acesso": "", "codigo_verificacao": "", "data_emissao": "", '
    b'"numero_protocolo": ""}, "status": "sucesso", "nfe_numero": , "serie": , "danfe_url": '
    b'"xml_url": "danfe": "xml": "produtos": [{"aplicacao": "C", "fabricacao": 1, "cfop": "5102", '
    b'"codigo_ean": "SEM GTIN", "codigo_produto": "descricao": "ncm": "quantidade_comercial": '
    b'"unidade_comercial": "UN", "valor_unitario_comercial": "valor_desconto": "codigo_origem_produto": 0, '
    b'"tributacao": {"icms": {"situacao_tributaria": "aliquota_icms": "valor_base_calculo": '
    b'"pis": {"cofins": {"forma_pagamento": [{"tipo_de_pagamento": "01", "valor_do_pagamento": '
    b'"engine_de_calculo": "taxweb", "natureza_operacao": "venda", "codigo_natureza_operacao": "001", '
    b'"indicador_presenca": 1, "informacoes_adicionais": {"informacoes_contribuinte": "cliente": '
    b'{"cpf_cnpj": "ref": "mensagem_sefaz": "status_sefaz": "100", "Autorizado o uso da NF-e", '
    b'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" '
    b'versao="4.00"><NFe xmlns="http://www.portalfiscal.inf.br/nfe"><infNFe versao="4.00" Id="NFe">'
    b"<ide><cUF>53</cUF><cNF></cNF><natOp>VENDA</natOp><mod>65</mod><serie>1</serie><nNF></nNF>"
    b"<dhEmi></dhEmi><tpNF>1</tpNF><idDest>1</idDest><cMunFG></cMunFG><tpImp>4</tpImp><tpEmis>1</tpEmis>"
    b"<cDV></cDV><tpAmb>2</tpAmb><finNFe>1</finNFe><indFinal>1</indFinal><indPres>1</indPres>"
    b"<procEmi>0</procEmi><verProc></verProc></ide><emit><CNPJ></CNPJ><xNome></xNome><xFant></xFant>"
    b"<enderEmit><xLgr></xLgr><nro></nro><xBairro></xBairro><cMun></cMun><xMun></xMun><UF></UF>"
    b"<CEP></CEP><cPais>1058</cPais><xPais>BRASIL</xPais><fone></fone></enderEmit><IE></IE><CRT>1</CRT>"
    b"</emit><dest><CPF></CPF><xNome></xNome><indIEDest>9</indIEDest></dest>"
    b'<det nItem="1"><prod><cProd></cProd><cEAN>SEM GTIN</cEAN><xProd></xProd><NCM></NCM><CEST></CEST>'
    b"<CFOP>5102</CFOP><uCom>UN</uCom><qCom></qCom><vUnCom></vUnCom><vProd></vProd>"
    b"<cEANTrib>SEM GTIN</cEANTrib><uTrib>UN</uTrib><qTrib></qTrib><vUnTrib></vUnTrib><vDesc></vDesc>"
    b"<indTot>1</indTot></prod><imposto><vTotTrib></vTotTrib><ICMS><ICMSSN102><orig>0</orig>"
    b"<CSOSN>102</CSOSN></ICMSSN102></ICMS><PIS><PISOutr><CST>99</CST><vBC>0.00</vBC><pPIS>0.0000</pPIS>"
    b"<vPIS>0.00</vPIS></PISOutr></PIS><COFINS><COFINSOutr><CST>99</CST><vBC>0.00</vBC>"
    b"<pCOFINS>0.0000</pCOFINS><vCOFINS>0.00</vCOFINS></COFINSOutr></COFINS></imposto></det>"
    b"<total><ICMSTot><vBC>0.00</vBC><vICMS>0.00</vICMS><vICMSDeson>0.00</vICMSDeson><vFCP>0.00</vFCP>"
    b"<vBCST>0.00</vBCST><vST>0.00</vST><vFCPST>0.00</vFCPST><vFCPSTRet>0.00</vFCPSTRet><vProd></vProd>"
    b"<vFrete>0.00</vFrete><vSeg>0.00</vSeg><vDesc>0.00</vDesc><vII>0.00</vII><vIPI>0.00</vIPI>"
    b"<vIPIDevol>0.00</vIPIDevol><vPIS>0.00</vPIS><vCOFINS>0.00</vCOFINS><vOutro>0.00</vOutro><vNF></vNF>"
    b"<vTotTrib></vTotTrib></ICMSTot></total><transp><modFrete>9</modFrete></transp><pag><detPag>"
    b"<indPag>0</indPag><tPag>01</tPag><vPag></vPag></detPag><vTroco></vTroco></pag>"
    b"<infAdic><infCpl></infCpl></infAdic><infRespTec><CNPJ></CNPJ><xContato></xContato><email></email>"
    b"<fone></fone></infRespTec></infNFe><infNFeSupl><qrCode><![CDATA[?p=|2|2|1|]]></qrCode>"
    b"<urlChave>http://www.fazenda.df.gov.br/nfce/consulta</urlChave></infNFeSupl>"
    b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
    b'<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    b'<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/><Reference URI="#NFe">'
    b'<Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    b'<Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></Transforms>'
    b'<DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><DigestValue></DigestValue>'
    b"</Reference></SignedInfo><SignatureValue></SignatureValue><KeyInfo><X509Data><X509Certificate>"
    b'</X509Certificate></X509Data></KeyInfo></Signature></NFe><protNFe versao="4.00"><infProt>'
    b"<tpAmb>2</tpAmb><verAplic></verAplic><chNFe></chNFe><dhRecbto></dhRecbto><nProt></nProt>"
    b"<digVal></digVal><cStat>100</cStat><xMotivo>Autorizado o uso da NF-e</xMotivo></infProt>"
    b'</protNFe></nfeProc><procEventoNFe versao="1.00"><evento versao="1.00"><infEvento Id="ID110111">'
    b"<cOrgao></cOrgao><tpAmb>2</tpAmb><CNPJ></CNPJ><chNFe></chNFe><dhEvento></dhEvento>"
    b"<tpEvento>110111</tpEvento><nSeqEvento>1</nSeqEvento><verEvento>1.00</verEvento>"
    b'<detEvento versao="1.00"><descEvento>Cancelamento</descEvento><nProt></nProt><xJust></xJust>'
    b"</detEvento></infEvento></evento><retEvento><infEvento><cStat>135</cStat>"
    b"<xMotivo>Evento registrado e vinculado a NF-e</xMotivo></infEvento></retEvento></procEventoNFe>"
)


def _damaged(what: str, exc: BaseException) -> JournalUnavailable:
    return JournalUnavailable(
        f"stored {what} cannot be decompressed: {exc}",
        user_message=(
            f"Um documento guardado no diário de vendas está danificado ({what}). "
            "Rode 'posapp doctor' e restaure a última cópia de segurança ('posapp restore')."
        ),
    )


def pack(content: bytes) -> bytes:
    """``content`` compressed, behind :data:`MAGIC`."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=_ZDICT_V1)
    return MAGIC + packer.compress(content) + packer.flush()


def unpack(stored: bytes) -> bytes:
    """What :func:`pack` was given. Bytes without the magic were stored before compression
    existed (a journal older than migration 5, an archive written raw): returned as they are."""
    if not stored.startswith(MAGIC):
        return stored
    try:
        unpacker = zlib.decompressobj(15, zdict=_ZDICT_V1)
        content = unpacker.decompress(stored[len(MAGIC) :]) + unpacker.flush()
    except zlib.error as exc:
        raise _damaged("zlib", exc) from exc
    if not unpacker.eof:
        raise _damaged("zlib", ValueError("truncated"))
    return content


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class Cut:
    """One document's base64 text, cut out of an answer at ``offset`` (in characters of the
    skeleton). ``kept`` False: the document is not stored (only its hash and size are)."""

    offset: int
    sha256: str
    size: int
    kept: bool


def split_answer(
    raw: str, kept: Mapping[str, bytes], dropped: Mapping[str, bytes] | None = None
) -> tuple[str, list[Cut]]:
    """The skeleton of ``raw`` and its cuts: each document of ``kept`` (stored elsewhere) and
    of ``dropped`` (not stored) whose exact base64 appears in ``raw`` is cut out."""
    wanted = [(content, True) for content in kept.values()]
    wanted += [(content, False) for content in (dropped or {}).values()]
    found: list[tuple[int, int, bytes, bool]] = []
    for content, keep in wanted:
        if not content:
            continue
        text = base64.b64encode(content).decode("ascii")
        at = raw.find(text)
        if at >= 0 and not any(start < at + len(text) and at < end for start, end, _, _ in found):
            found.append((at, at + len(text), content, keep))
    found.sort()
    parts, cuts, position, removed = [], [], 0, 0
    for start, end, content, keep in found:
        parts.append(raw[position:start])
        cuts.append(Cut(start - removed, sha256(content), len(content), keep))
        removed += end - start
        position = end
    parts.append(raw[position:])
    return "".join(parts), cuts


def join_answer(skeleton: str, cuts: list[Cut], fetch: Callable[[str], bytes | None]) -> str:
    """The answer rebuilt: each kept cut's document (by hash, from ``fetch``) in base64 back
    in place; a dropped one (or one ``fetch`` no longer has) as nothing."""
    parts, position = [], 0
    for cut in cuts:
        parts.append(skeleton[position : cut.offset])
        content = fetch(cut.sha256) if cut.kept else None
        if content is not None:
            parts.append(base64.b64encode(content).decode("ascii"))
        position = cut.offset
    parts.append(skeleton[position:])
    return "".join(parts)


def pack_answer(skeleton: str, cuts: list[Cut]) -> bytes:
    """A skeleton and its cuts as one compressed value (``attempts.response``)."""
    header = json.dumps([[c.offset, c.sha256, c.size, int(c.kept)] for c in cuts], separators=(",", ":"))
    return ANSWER_MAGIC + pack(header.encode("ascii") + b"\n" + skeleton.encode("utf-8"))


def unpack_answer(stored: bytes) -> tuple[str, list[Cut]]:
    body = unpack(stored[len(ANSWER_MAGIC) :])
    header, _, skeleton = body.partition(b"\n")
    try:
        cuts = [Cut(int(o), str(h), int(s), bool(k)) for o, h, s, k in json.loads(header)]
        return skeleton.decode("utf-8"), cuts
    except (ValueError, TypeError) as exc:
        raise _damaged("answer", exc) from exc


def is_packed_answer(stored: object) -> bool:
    return isinstance(stored, bytes) and stored.startswith(ANSWER_MAGIC)


def pack_raw_answer(raw: str, kept: Mapping[str, bytes], dropped: Mapping[str, bytes] | None = None) -> bytes:
    skeleton, cuts = split_answer(raw, kept, dropped)
    return pack_answer(skeleton, cuts)


SqlValue = str | bytes | int | float | None


def _sql_pack_answer(raw: SqlValue, *documents: SqlValue) -> SqlValue:
    """``posapp_pack_answer(response, xml, pdf, cancel_xml)`` for migration 6."""
    if not isinstance(raw, str):
        return raw  # NULL, or already packed
    kept = {str(n): d for n, d in enumerate(documents) if isinstance(d, bytes)}
    return pack_raw_answer(raw, kept)


def _sql_pack(content: SqlValue) -> SqlValue:
    if isinstance(content, str):
        content = content.encode("utf-8")
    if not isinstance(content, bytes) or content.startswith(MAGIC):
        return content
    return pack(content)


def _sql_sha256(content: SqlValue) -> SqlValue:
    if isinstance(content, str):
        return sha256(content.encode("utf-8"))
    return sha256(content) if isinstance(content, bytes) else None


def register_sql_functions(db: sqlite3.Connection) -> None:
    """The functions migration 6 calls: registered on every connection before migrating."""
    db.create_function("posapp_pack", 1, _sql_pack, deterministic=True)
    db.create_function("posapp_sha256", 1, _sql_sha256, deterministic=True)
    db.create_function("posapp_pack_answer", 4, _sql_pack_answer, deterministic=True)


__all__ = [
    "ANSWER_MAGIC",
    "MAGIC",
    "Cut",
    "is_packed_answer",
    "join_answer",
    "pack",
    "pack_answer",
    "pack_raw_answer",
    "register_sql_functions",
    "sha256",
    "split_answer",
    "unpack",
    "unpack_answer",
]
