"""Intent and entity extraction from chat messages ("急单！1234567 今天必须发" -> urgent, order).

``extract(text)`` returns an ``IntentResult``; ``ask_back(result, threshold)`` says when the
caller should ask the sender rather than act; ``result_json`` is the ``orderbot intent`` line;
``warm_up()`` builds jieba's dictionary ahead of the first message.
"""

from core.intent.extract import ASK_BACK_BELOW, AskBack, ask_back, extract, warm_up
from core.intent.model import INTENTS, Address, Entities, Intent, IntentResult, result_json

__all__ = ["ASK_BACK_BELOW", "INTENTS", "Address", "AskBack", "Entities", "Intent",
           "IntentResult", "ask_back", "extract", "result_json", "warm_up"]
