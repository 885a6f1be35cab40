"""SEFAZ rejection reasons in plain words for the counter.

The issuer answers with codes and terse official texts (``778 - Rejeição: Informado NCM
inexistente``). The cashier needs to know what to fix; the official text stays visible
below for the manager and for support.
"""

from __future__ import annotations

import re

_CSTAT = re.compile(
    r"(?:^|cstat[\s:=]*|c[oó]digo[\s:]*|rejei[cç][aã]o[\s:]*)\s*\[?([1-9][0-9]{2})\b", re.IGNORECASE
)

PLAIN: dict[str, str] = {
    "204": "Esta nota já foi autorizada antes (duplicidade). Veja o histórico de vendas antes de reenviar.",
    "539": "Esta nota já foi autorizada antes (duplicidade). Veja o histórico de vendas antes de reenviar.",
    "213": "O CNPJ da loja não confere com o certificado digital. Chame o suporte.",
    "225": "O emissor montou a nota num formato que a SEFAZ não aceitou. Chame o suporte.",
    "228": "A data da venda está muito atrasada. Confira o relógio deste computador.",
    "233": "A inscrição estadual do cliente não confere. Retire a identificação ou confira.",
    "237": "O CPF do consumidor é inválido. Corrija ou retire o CPF (F4).",
    "301": "Uso denegado: irregularidade fiscal da loja. Chame o contador.",
    "302": "Uso denegado: irregularidade fiscal do cliente. Venda sem identificar o cliente.",
    "588": "Há caracteres não permitidos na descrição de um produto. Corrija o cadastro.",
    "610": "Os totais da nota não fecham. Chame o suporte.",
    "629": "O valor de um item não confere com quantidade x preço. Refaça o item.",
    "694": "O produto não tem o grupo de imposto correto. Corrija o cadastro fiscal do produto.",
    "703": "A data/hora da venda está adiantada. Confira o relógio deste computador.",
    "704": "A data/hora da venda está atrasada. Confira o relógio deste computador.",
    "778": "O NCM de um produto não existe. Corrija o NCM no cadastro de produtos.",
    "806": "A operação não é permitida para consumidor final. Chame o suporte.",
    "869": "O troco informado não confere. Refaça o pagamento.",
    "999": "Erro interno da SEFAZ. Tente reenviar em alguns minutos.",
}


def plain_reason(error: str) -> str:
    """The plain explanation of one issuer error, or the error itself when unknown."""
    for code in _CSTAT.findall(error):
        if code in PLAIN:
            return PLAIN[code]
    return error
