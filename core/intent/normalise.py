"""One canonical form of a chat message before anything reads it.

NFKC turns full-width digits and letters (１２３４５６７, ＳＦ) into ASCII and full-width
punctuation into its ASCII twin; OpenCC's ``t2s`` turns traditional characters into simplified
ones (訂單 -> 订单, 發票 -> 发票); emoji, @mentions and chat placeholders ([图片]) are dropped;
common pinyin-input slips (退宽, 发漂) are corrected from ``data/typos.tsv``, and pinyin
abbreviations standing as a word of their own (kd, tk, fp) are spelled out from
``data/abbreviations.tsv``. Every later step
(entity patterns, jieba, keyword weights) therefore only knows simplified Chinese and ASCII.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from functools import cache

from core.intent.lexicon import abbreviations, typos

_MENTION = re.compile(r"@\S+?(?:\s|$)")
_PLACEHOLDER = re.compile(r"\[(?:图片|表情|语音|视频|文件|动画表情|链接|红包|位置)\]")
_SPACES = re.compile(r"\s+")
# A Latin word standing alone (not part of a code: SF123, KD-100, a.b): a candidate abbreviation.
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9\-_.:/])[A-Za-z]{2,6}(?![A-Za-z0-9\-_.:/])")
# Emoji and pictographs, dingbats, variation selectors, zero-width joiners, keycaps.
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U00002B00-\U00002BFF\U0000FE00-\U0000FE0F"
    "\U0000200B-\U0000200F\U00002060\U000020E3\U0000E000-\U0000F8FF]")
_LOCK = threading.Lock()


def normalise(text: str) -> str:
    """The canonical form (see the module docstring); whitespace runs become one space."""
    text = unicodedata.normalize("NFKC", text)
    text = _EMOJI.sub(" ", text)
    text = _PLACEHOLDER.sub(" ", _MENTION.sub(" ", text))
    text = _to_simplified()(text)
    for typed, meant in typos():
        if typed in text:
            text = text.replace(typed, meant)
    text = _LATIN_WORD.sub(_spell_out, text)
    return _SPACES.sub(" ", text).strip()


def _spell_out(match: re.Match[str]) -> str:
    return abbreviations().get(match.group().lower(), match.group())


@cache
def _to_simplified() -> Callable[[str], str]:
    """OpenCC's converter, built once (it loads its dictionaries on construction)."""
    with _LOCK:
        import opencc

        converter = opencc.OpenCC("t2s")

    def convert(text: str) -> str:
        if text.isascii():
            return text
        return str(converter.convert(text))

    return convert
