"""Invoice dimension: a company invoice needs a title and a valid 统一社会信用代码.

Personal buyers need neither (a 个人 普票 carries the buyer's name). The tax id is checked with
the GB 32100-2015 check character (``core.taxid``), after taking out spaces and lower case.
"""

from __future__ import annotations

from core.anomalies import AnomalyCode
from core.health.model import Issue
from core.order import Invoice, InvoiceKind
from core.taxid import is_valid, normalize


def check_invoice(invoice: Invoice | None) -> list[Issue]:
    if invoice is None or invoice.kind is not InvoiceKind.COMPANY:
        return []
    issues: list[Issue] = []
    if not (invoice.title or "").strip():
        issues.append(Issue("invoice.title", AnomalyCode.INVOICE_TITLE_MISSING,
                            "企业发票缺少抬头（公司名称），请向买家补录。"))
    code = normalize(invoice.tax_id or "")
    if not code:
        issues.append(Issue("invoice.tax_id", AnomalyCode.TAX_ID_INVALID,
                            "企业发票缺少统一社会信用代码（税号），请向买家补录。",
                            {"problem": "missing"}))
    elif not is_valid(code):
        problem = "应为 18 位" if len(code) != 18 else "校验位不对"
        issues.append(Issue("invoice.tax_id", AnomalyCode.TAX_ID_INVALID,
                            f"企业发票的统一社会信用代码 {code} 无效（{problem}），请向买家核实。",
                            {"problem": "invalid", "tax_id": code}))
    return issues
