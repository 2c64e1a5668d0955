"""``extract(text)``: one chat message -> intents, entities and confidence.

The steps, each in its own module: normalise (NFKC, traditional -> simplified, emoji, typos),
find numbers (orders, tracking numbers, phones), find a new address (with the health checks'
parser), blank all of those out, segment the rest with jieba, score keyword and pattern hits,
rank the intents, and let the learned model (``core.intent.learned``) choose the primary
intent from the text and the rules' reading. Entities are blanked before segmentation so that
digits never look like words and an address's street never scores (送到 in 送到家园路).

Pure and synchronous; the first call pays jieba's start-up (about a second), see
``core.intent.lexicon.warm_up``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

from core.intent.address_span import AddressSpan, find_address
from core.intent.learned import overrule
from core.intent.lexicon import common_nouns, keywords, products, tokenizer
from core.intent.model import INTENTS, Entities, Intent, IntentResult
from core.intent.normalise import normalise
from core.intent.numbers import Found, find_numbers
from core.intent.scoring import STRONG, Hit, Ranked, confidence, find_hits, rank

ASK_BACK_BELOW = 0.6  # default of ``[intent] ask_back_below``
MAX_CHARS = 1000  # a longer message is read up to here: chat commands are short, work is bounded
WEAK = 1.0  # below this, a meant intent with no order named is not taken as a request
AskBack = Literal["unclear", "address_missing", "address_ambiguous"]
_SKU = re.compile(r"(?<![A-Za-z0-9-])[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+(?![A-Za-z0-9-])")
# What makes a product word a different product when it follows it (床垫 + 保护罩 is a cover,
# not a mattress): the pair is named as one product.
_ACCESSORY = re.compile(r"\s?(保护罩|保护套|防尘罩|防尘套|收纳袋|收纳盒|罩|套|盖|垫|架|袋)")
# What comes right before an item that is counted or sent again: 两个, 一只, 3件, 个 (after a
# digit), 补发, 漏发, 少了, 加. A common noun there is a product even when the shop's list
# does not name it, unless it is one of the generic words below; so is one after 收到的/买的.
_CLASSIFIER = re.compile(r"[个件只双条套瓶盒包袋张把台支顶块副罐桶卷片根份对床]")
_COUNTED = re.compile(r"^(?:[一二两三四五六七八九十几半]+" + _CLASSIFIER.pattern
                      + r"|补发|补寄|漏发|少发|少了|缺了|再加|加|补|多发|发错)$")
# 收到的花盆, 买的鱼缸: what was bought or received is an item of the order.
_RECEIVED = frozenset({"收到", "买", "拍", "寄来", "发来", "送来", "到"})
_GENERIC_GOODS = frozenset({
    "东西", "配件", "赠品", "同款", "衣服", "鞋子", "商品", "产品", "货物", "宝贝", "礼品",
    "小礼品", "样品", "零件", "部件", "包装", "包裹", "快递", "订单", "单子", "客户", "颜色",
    "尺码", "尺寸", "型号", "款式", "规格", "数量", "价格", "运费", "邮费", "电话", "号码",
    "单号", "地址", "问题", "质量", "消息", "时间", "照片", "图片", "视频", "说明书", "标签",
    "吊牌", "纸箱", "盒子", "袋子", "发票", "链接", "售后", "客服", "老板", "师傅", "朋友",
    "孩子", "小孩", "码数", "时候", "订单号", "快递单号", "运单号", "物流", "邮箱", "微信",
    "仓库", "监控"})
_UNWANTED_WORDS = frozenset({"不要了", "不想要", "不买了"})
# The parcel has left or arrived (a 没/未 before a shipping word says the opposite; 还没拆封
# still means it arrived).
_DELIVERED = re.compile(r"(?<!没)(?<!未)(?:收到|到了|签收|已经发|已发货|发出了|寄出了|已经寄|"
                        r"已寄出|拒收|货到|到货了|已经到|在路上|退回来|寄回)|拆封|拆开|用过|穿过|"
                        r"试穿|试用")
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_LOOKUP_WORDS = re.compile(r"订单号|快递单号|运单号|单号|订单|快递|物流|顺丰|中通|圆通|申通|韵达|"
                           r"极兔|德邦|邮政|京东|淘宝|天猫|抖音|抖店|拼多多|有赞|手机号?|号码|电话|的")


def extract(text: str) -> IntentResult:
    """Intents and entities of one message; never raises on odd input (empty -> other)."""
    rules, rest, tokens = read_by_rules(text)
    return overrule(rules, rest, tokens)


def read_by_rules(text: str) -> tuple[IntentResult, str, list[str]]:
    """The rules' reading of one message, with the text it scored (normalised, entities
    blanked) and that text's jieba tokens: what ``core.intent.learned`` reads too."""
    clean = normalise(text[:4 * MAX_CHARS])[:MAX_CHARS]
    numbers = find_numbers(clean)
    place = find_address(_blank(clean, [(n.start, n.end) for n in numbers if _long(n)]))
    if place is not None:
        numbers = [n for n in numbers if _long(n) or not place.start <= n.start < place.end]
    spans = [(n.start, n.end) for n in numbers]
    rest = _blank(clean, spans + ([(place.start, place.end)] if place else []))
    tokens: list[str] = tokenizer().lcut(rest, HMM=False)
    entities = _entities(numbers, place, tokens, rest)
    hits = find_hits(rest, tokens, entities.has_reference or bool(entities.products))
    hits = _unwanted_as_return(hits, rest)
    hits.extend(_evidence_from_entities(hits, entities, place))
    return _decide(rank(hits), entities, rest), rest, tokens


def warm_up() -> None:
    """Pay every first-use cost now (jieba's dictionary, OpenCC, the division table) by reading
    one message that takes every path; a service calls this at start, off the event loop."""
    extract("急單 1234567 改地址 北京市朝阳区建国路88号 SF1234567890123")


def ask_back(result: IntentResult, threshold: float = ASK_BACK_BELOW) -> AskBack | None:
    """Why the caller should ask the sender instead of acting, or None to go ahead."""
    if result.confidence < threshold:
        return "unclear"
    if result.intent == "change_address" and not result.is_retraction:
        address = result.entities.new_address
        if address is None:
            return "address_missing"
        if address.ambiguous:
            return "address_ambiguous"
    return None


def _long(found: Found) -> bool:
    """Everything but a short order number (which may be a house number in an address)."""
    return found.kind != "order" or not found.value.isdigit() or len(found.value) > 10


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _entities(numbers: list[Found], place: AddressSpan | None, tokens: list[str],
              rest: str) -> Entities:
    catalogue, nouns, scored = products(), common_nouns(), keywords()
    named: dict[str, int] = {}
    offset = 0
    before = ["", ""]  # the two words before this one (spaces skipped)
    for token in tokens:
        if token in catalogue:
            accessory = _ACCESSORY.match(rest, offset + len(token))
            named.setdefault(token + accessory.group(1) if accessory else token, offset)
        elif token in nouns and token not in _GENERIC_GOODS and token not in scored and (
                _COUNTED.match(before[1]) or (
                    _CLASSIFIER.fullmatch(before[1]) and before[0].isdigit()) or (
                    rest[offset - 1:offset] == "的" and before[0] in _RECEIVED)):
            named.setdefault(token, offset)
        offset += len(token)
        # a count or resend verb counts the word right after it, not one past a space
        # ("少了一个 仓库查下监控")
        before = [before[1], token] if not token.isspace() else [before[1], " "]
    for match in _SKU.finditer(rest):
        code = match.group()
        if any(ch.isdigit() for ch in code) or code.count("-") >= 2:  # BOWL-2, TEE-WHT-M
            named.setdefault(code, match.start())
    tracking = [n for n in numbers if n.kind == "tracking"]
    return Entities(
        order_nos=_unique(n.value for n in numbers if n.kind == "order"),
        tracking_nos=_unique(n.value for n in tracking),
        carriers=tuple(n.carrier for n in _first_of_each(tracking)),
        phones=_unique(n.value for n in numbers if n.kind == "phone"),
        new_address=place.address if place else None,
        products=tuple(sorted(named, key=named.__getitem__)))


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _first_of_each(found: list[Found]) -> list[Found]:
    seen: dict[str, Found] = {}
    for item in found:
        seen.setdefault(item.value, item)
    return list(seen.values())


def _unwanted_as_return(hits: list[Hit], rest: str) -> list[Hit]:
    """不要了/不想要 cancels an order that has not left; once it has been sent or received
    ("收到了 不想要了", "已经发出了 客户不要了"), or beside a return asked for ("能退吗 不想要了"),
    it is the reason for a return (不买了 only once sent: see below)."""
    unwanted = [hit for hit in hits if rest[hit.start:hit.end] in _UNWANTED_WORDS]
    if not unwanted:
        return hits
    delivered = bool(_DELIVERED.search(rest))
    returning = any(hit.intent == "refund_return" and not hit.negated for hit in hits)
    # 不买了 gives up the purchase itself: beside 钱退我 it is a cancel with its refund
    # ("算了不买了 钱退我吧"), a return only once the goods have left.
    turned = [hit for hit in unwanted if delivered or (
        returning and rest[hit.start:hit.end] != "不买了")]
    return [replace(hit, intent="refund_return") if hit in turned else hit for hit in hits]


def _evidence_from_entities(hits: list[Hit], entities: Entities,
                            place: AddressSpan | None) -> list[Hit]:
    """A new address is evidence for change_address; a named product backs up an add."""
    extra = []
    if place is not None:
        extra.append(Hit("change_address", 2.0, place.start, place.end))
    adds = [hit for hit in hits if hit.intent == "add_item" and not hit.negated]
    if entities.products and adds:
        extra.append(Hit("add_item", 1.0, adds[0].start, adds[0].end))
    return extra


def _decide(ranked: list[Ranked], entities: Entities, rest: str) -> IntentResult:
    reference = entities.has_reference
    if not ranked:
        return _without_keywords(entities, rest)
    primary = ranked[0]
    if primary.score < WEAK and not primary.retracted and not reference:
        return IntentResult("other", None, 0.55, entities)  # a lone hint (看下) is no request
    secondary = next((r for r in ranked[1:] if r.score >= STRONG or r.retracted), None)
    retracted = tuple(r.intent for r in (primary, secondary) if r is not None and r.retracted)
    scores = {r.intent: round(r.score, 2) for r in ranked}
    return IntentResult(
        intent=_as_intent(primary.intent),
        secondary=_as_intent(secondary.intent) if secondary else None,
        confidence=confidence(primary.score, reference), entities=entities,
        retracted=tuple(_as_intent(i) for i in retracted), scores=scores)


def _without_keywords(entities: Entities, rest: str) -> IntentResult:
    """No intent word: a bare number or phone is a look-up; chatter is other. An order named
    in a longer message without any intent word is other, but unsure: ask what is wanted."""
    wordy = len(_WORDY.findall(_LOOKUP_WORDS.sub("", rest)))
    if entities.has_reference and wordy <= 4:
        return IntentResult("query_status", None, 0.8, entities)
    return IntentResult("other", None, 0.5 if entities.has_reference else 0.9, entities)


def _as_intent(name: str) -> Intent:
    for intent in INTENTS:
        if intent == name:
            return intent
    raise ValueError(f"keywords.tsv names an unknown intent: {name!r}")
