"""The word lists of intent extraction, and the one jieba tokenizer that knows them.

Everything is loaded once, lazily, and shared by whoever asks first (the service's workers,
``orderbot intent``, the benchmark): jieba's prefix dictionary takes about a second to build,
so ``core.intent.warm_up()`` exists for a service that wants to pay that at start rather than
on the first message. jieba logs "Building prefix dict ..." to stderr on initialisation; its
logger is set to WARNING before that, so a CLI that prints JSON lines prints nothing else.

Data files (``core/intent/data``): ``ops_dict.txt`` (jieba user dictionary: ops words such as
急单, 改地址, 快递单号, carrier names, kept whole by the segmenter), ``keywords.tsv`` (word ->
intent and weight), ``products.txt`` (product and part words), ``typos.tsv`` (pinyin slips),
``abbreviations.tsv`` (pinyin initials such as kd = 快递, tk = 退款).
Multi-character keywords and products are added to the tokenizer too, so the segmenter never
splits a word that scores.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_LOCK = threading.Lock()
_WORD_FREQ = 50000  # high enough that jieba keeps our words whole inside longer runs


@dataclass(frozen=True, slots=True)
class Keyword:
    intent: str
    weight: float  # < 0: the word itself withdraws the intent (不急)


def _lines(name: str) -> list[list[str]]:
    data = resources.files("core.intent").joinpath("data")
    text = data.joinpath(name).read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines()]
    return [row for row in rows if row[0].strip() and not row[0].startswith("#")]


@cache
def keywords() -> dict[str, Keyword]:
    """Scored words; a malformed line is a packaging bug and fails loudly here."""
    table: dict[str, Keyword] = {}
    for row in _lines("keywords.tsv"):
        word, intent, weight = row
        table[word] = Keyword(intent, float(weight))
    return table


@cache
def longest_keyword_tokens() -> int:
    """How many jieba tokens a keyword may span (急急急 may come out as three)."""
    return 4


@cache
def longest_keyword_chars() -> int:
    return max(len(word) for word in keywords())


@cache
def ops_words() -> tuple[tuple[str, int, str], ...]:
    """The jieba user dictionary: ``word freq tag`` a line."""
    rows = (row[0].split() for row in _lines("ops_dict.txt"))
    return tuple((word, int(freq), tag) for word, freq, tag in rows)


@cache
def products() -> frozenset[str]:
    return frozenset(row[0].strip() for row in _lines("products.txt"))


@cache
def common_nouns() -> frozenset[str]:
    """jieba's own dictionary words tagged ``n`` (common nouns, 2-4 characters): a noun right
    after a count (两个衣架) or a resend verb (补发杯盖) is taken as a product even when the
    shop's ``products.txt`` does not list it. Read once from jieba's packaged dict.txt."""
    nouns = set()
    with tokenizer().get_dict_file() as lines:
        for raw in lines:
            parts = raw.decode("utf-8").split()
            if len(parts) == 3 and parts[2] == "n" and 2 <= len(parts[0]) <= 4:
                nouns.add(parts[0])
    return frozenset(nouns)


@cache
def typos() -> tuple[tuple[str, str], ...]:
    return tuple((row[0], row[1].strip()) for row in _lines("typos.tsv"))


@cache
def abbreviations() -> dict[str, str]:
    """Pinyin abbreviations (kd -> 快递), lower-case; matched as whole Latin words only."""
    return {row[0].strip().lower(): row[1].strip() for row in _lines("abbreviations.tsv")}


@cache
def tokenizer() -> Any:
    """The shared jieba tokenizer with the ops dictionary (built once, thread-safe)."""
    with _LOCK:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        built = jieba.Tokenizer()
        built.initialize()
        for word, freq, tag in ops_words():
            built.add_word(word, freq, tag)
        for word in [*keywords(), *products()]:
            if len(word) > 1:
                built.add_word(word, _WORD_FREQ)
        return built
