"""From words to intents: weighted keyword hits, negation and retraction, precedence, confidence.

Hits come from two places: jieba tokens matched against ``data/keywords.tsv`` (a keyword may span
up to four tokens, the longest match at a position wins, so 急单 counts once, not as 急 + 单), and a
few patterns for phrasings with a gap that a word list cannot hold (地址...改, 发...了吗, 加两个).

A hit is *negated* when a negator stands right before it (不/别/没/不用/不要/无需/不是...:
"不用加急", "不是要退款") or, for the actions and urgency, when a withdrawal follows it in the
same clause ("急单取消", "发票不要了", "改地址的事算了"); a withdrawing 取消/不要了 is then used up
and does not also count as cancel_order. Per intent, the meant weight and the withdrawn weight
are summed; the intent is withdrawn (``retracted``) when the withdrawn weight is at least the
meant weight.

Confidence grows with the evidence for the primary intent, ``1 - exp(-score / 1.5)``: one strong
word (急单, 3.0) gives 0.86, a single weak one (查, 1.5) 0.63, a lone hint (改, 1.0) 0.49; naming
an order adds 0.05. Below ``ASK_BACK_BELOW`` the caller asks instead of guessing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from core.intent.lexicon import keywords, longest_keyword_chars, longest_keyword_tokens
from core.intent.model import ACTIONS, RANK

STRONG = 2.0  # an intent needs this much to be primary next to others, or to be secondary
# A negator negates the word right after it, not one after a space ("一点消息都没有 太离谱了").
_NEGATOR = re.compile(
    r"(?:不|别|没|无需|甭|免|撤销|撤回)(?:用|要|需要|必|是|是要|想|再|有|用再)?$")
# A status question stays one when it asks about something that has not happened (还没发货吗,
# 咋还没到): only "no need to look" (不用查了, 别问了) withdraws it.
# An A-not-A question (有没有发票, 是不是发错了, 能不能退) asks; it negates nothing.
_A_NOT_A = re.compile(r"(有没有|是不是|能不能|要不要|可不可以|用不用|需不需要|会不会|可否)$")
_QUERY_NEGATOR = re.compile(r"(?:不用|别|无需|甭|不要|不必|不需要)(?:再|帮我|帮忙)?$")
_WITHDRAWAL = re.compile(
    r"[^\s,。!?]{0,3}?\s*(?:也)?(?:不用了|不用|算了|取消|撤销|不要了|不需要了|不需要|不改了|不开了)")
_WITHDRAWABLE = frozenset({"urgent", "change_address", "refund_return", "invoice", "add_item"})
_CLAUSE = re.compile(r"[,。!?;]")
# 什么时候 + a shipping verb asks about a parcel; a bare 发/寄/到/送 followed by some other
# object (什么时候发工资, 什么时候到家) does so only in a message about an order (see
# ``_parcel_object``).
_WHEN = re.compile(r"(什么时候|啥时候|几时|哪天|几号)(?:能|可以|会|才能|才|开始|再|就)?"
                   r"(发货|发出|寄出|到货|送到|出库|发|寄|到|送)(?!账)")
_BARE_VERB_FOLLOWERS = frozenset("货出走过给了吗呢啊呀啦吧哈么嘛哦我的来回到啦")
# ... and one whose object stands before it (工资什么时候发, 通知几号发) is about that object.
_NOT_PARCEL_BEFORE = re.compile(r"(?:工资|薪水|奖金|年终奖|提成|补贴|福利|红包|通知|公告|排班|"
                                r"课表|成绩|offer|快递员)[^\s,。!?;]{0,4}$")
_PARCEL_WORDS = re.compile(r"快递|包裹|订单|单子|单号|这单|那单|货|东西|宝贝|物流|顺丰|中通|圆通|"
                           r"申通|韵达|极兔|德邦|邮政|亲|客服|老板|店家|掌柜|商家|卖家|你们")
# 说好的今天发呢: a broken promise is a reproach; what was promised is not asked again.
_PROMISED = re.compile(r"说好的|说好了|不是说好|答应好的|答应过")
_PATTERNS: tuple[tuple[re.Pattern[str], str, float, int], ...] = (
    # (pattern, intent, weight, group whose start is the hit position: the verb)
    (re.compile(r"地址.{0,4}?(改|换|变更|修改)"), "change_address", 3.0, 1),
    (re.compile(r"(改|换|修改|变更)(?:一下|下|个)?(?:收货)?地址"), "change_address", 3.0, 1),
    (re.compile(r"(?:电话|手机)号?(改|换)|(改)(?:电话|手机)"), "change_address", 2.5, 0),
    (re.compile(r"(?:收货人|收件人|联系人|名字|姓名)(?:信息|电话|名字)?也?(改|换|修改|变更)"),
     "change_address", 3.0, 1),
    (re.compile(r"地址(?:填|写|留|打)?(错|不对)"), "change_address", 3.0, 1),
    # the receiver's phone or name is wrong (填错了, 错了一位, 不对): a receiver change
    (re.compile(r"(?:电话|手机|(?<!单|递)号码|收件人|收货人|名字|姓名)(?:号码|号)?"
                r"(?:填|写|留|打)?(错|不对)"), "change_address", 3.0, 1),
    # (能今天发吗 asks for speed, not for a status: the time word keeps it out; 今天能发吗 asks
    # whether it can leave today, which the weak pattern below reads)
    (re.compile(r"(?<!一起)(?<!合并)(?<![补重漏])(?<!今天能)(?<!今日能)(?<!明天能)(?<!今天)(?<!今日)(?<!明天)(?<!马上)(?<!尽快)(发货|发出去|发出|发走|寄出去|寄出|寄|发|出库|打单|签收|到店|到)"
                r"了?(?:吗|没有|没|否)"), "query_status", 3.0, 1),
    (_WHEN, "query_status", 3.0, 1),
    # 有没有发货, 是否已寄出, 发没发, 到没到: the yes/no forms of the same question
    (re.compile(r"(?:有没有|有无|是否|是不是)(?:已经|已)?(发货|发出|寄出|发|寄|到货|签收)"
                r"(?![票错付])"), "query_status", 3.0, 1),
    (re.compile(r"(发|寄|到)没(?:有)?(?:发|寄|到)"), "query_status", 3.0, 1),
    # 怎么还没发, 为啥还不到: a question about something late (a statement 还没发货 is not)
    (re.compile(r"(?:怎么|为什么|为啥|咋)(?:还|都)?(?:没有|没|不)(?:给我)?"
                r"(发货|发出|发|寄出|寄|到货|到|动|更新|揽收)"), "query_status", 3.0, 1),
    # 发的什么快递, 走哪家快递: which carrier it went with
    (re.compile(r"(发|走|用|寄)的?(?:什么|哪家|哪个|啥)(?:快递|物流)"), "query_status", 3.0, 1),
    # 显示退回了, 物流提示异常: a reported tracking state is a question about it
    (re.compile(r"(显示|提示)(?:已经|已|被)?(?:退回|拒收|签收|异常|退件|退签|派送|揽收|滞留|"
                r"丢失|疑难|问题件)"), "query_status", 3.0, 1),
    (re.compile(r"(卡在|卡住|停在|滞留)"), "query_status", 2.0, 1),
    # cancel with words between the verb and the order (撤销这个订单, 取消一下那单)
    (re.compile(r"(取消|撤销|撤回|作废|撤掉|关掉|关闭)(?:一下|下|掉)?(?:这|那|我的|这个|那个|该)"
                r"(?:个|笔|张)?(?:订单|单子|单)"), "cancel_order", 3.0, 1),
    # asking to return or exchange (能退吗, 可以换吗, 想换个颜色), not to change an address
    (re.compile(r"(?<!地址)(?<!电话)(?<!手机)(?<!号)"
                r"(?:能|可以|能不能|可不可以|给我|帮我|要|想|申请|不给)(退|换)(?!\s*(?:个|一下|下)?"
                r"(?:地址|电话|手机|号|收件|收货人|快递|物流|顺丰|中通|圆通|申通|韵达|极兔|德邦|"
                r"邮政|京东|成|到|为))"), "refund_return", 2.5, 1),
    # 少了一个, 缺了两只: something missing from the parcel, the reason for a resend or a refund
    (re.compile(r"(少|缺)了?(?:[一二两三四五六七八九十几\d]+)[个件包套对块只瓶盒张条份支双把]"),
     "add_item", 1.5, 1),
    # 开个票, 开张收据
    (re.compile(r"(开)(?:个|张|一张|一下|下)(?:票|发票|收据)"), "invoice", 3.0, 1),
    # 能撤回吗, 撤销吧 standing alone: take the order back
    (re.compile(r"(撤回|撤销)(?:一下|下)?(?=吗|吧|呢|$|[\s,。!?])"), "cancel_order", 2.5, 1),
    # an exchange for another size (换小一码, 换成大一号, 换个大点的)
    (re.compile(r"(换)(?:成|个|一个)?(?:小|大)(?:一|两|半)?(?:码|号|点|些|的)"), "refund_return",
     3.0, 1),
    # sarcasm and judgements of the service without a complaint word
    (re.compile(r"(?:服务|质量|客服|做工|售后|东西|效率|产品)(?:也|真的|真|太|很|实在|这么|那么)*"
                r"(不行|不好|差劲|垃圾|太差|很差|真差)"), "complaint", 2.5, 1),
    (re.compile(r"(?:怎么|咋)(做生意|做事|办事|当客服|服务)的"), "complaint", 3.0, 1),
    (_PROMISED, "complaint", 1.5, 0),  # beside an action, its reason
    # 再也不会在你家买了 (its 不 is its own, not a negator)
    (re.compile(r"再也不(?:会|想|要)?[^\s,。!?]{0,4}?(?:买|来|光顾)"), "complaint", 3.0, 0),
    (re.compile(r"(没人|没有人)(?:管|理|回|处理|回复|负责|接)"), "complaint", 2.5, 1),
    (re.compile(r"(?:跟|和|与|比)(?:图片|描述|详情|宣传|介绍)[^\s,。!?]{0,4}?"
                r"(不一样|不符|不同|差太多|差很多|差远)"), "complaint", 1.8, 1),  # a defect
    (re.compile(r"(?:图片|描述|详情|宣传|介绍)(?:和|跟|与)(?:实物|东西|收到的)[^\s,。!?]{0,4}?"
                r"(不一样|不符|不同|差太多|差很多|差远|差别)"), "complaint", 1.8, 1),
    # 物流慢, 客服太慢了: slowness judged, not a question about the parcel (covers 物流)
    (re.compile(r"(?:物流|快递|发货|客服|回复|回消息|处理|售后|配送)(?:也|太|真|真的|好|这么|那么|"
                r"特别|超级|巨|贼|实在)*慢"), "complaint", 2.5, 0),
    (re.compile(r"(?:也|还|真)(好意思)"), "complaint", 2.5, 1),
    # 发货前不检查的吗: a rhetorical question reproaching a step skipped
    (re.compile(r"不(?:检查|核对|检验|验货|看看|看一下|仔细看)(?:一下)?(?:的吗|的么|吗|么)"),
     "complaint", 2.5, 0),  # its 不 is its own
    (re.compile(r"(?:是|像|跟|就是)个?(机器人)"), "complaint", 2.5, 1),
    (re.compile(r"(态度)(?:也|真|太|很|非常|极其|特别|这么|那么)*(?:差|不好|恶劣|烂|敷衍|冷漠)"),
     "complaint", 2.5, 1),
    (re.compile(r"(这也叫|什么鬼|搞什么鬼|当我(?:是)?傻|(?:做不做|想不想)(?:生意|做了|卖了))"),
     "complaint", 2.5, 1),
    (re.compile(r"([加补])(?:[一二两三四五六七八九十几\d]+|个)?"
                r"[个件包套对桶块只瓶盒箱张条份支双](?!急|发票|票)"), "add_item", 2.5, 1),
    (re.compile(r"(今天|今日|马上|立刻|尽快)(?:就|一定|必须|务必)*要?[发出走寄]"),
     "urgent", 2.0, 1),
    # 催一下快递, 帮我催催: a push on the carrier or the warehouse; 快点发货, 赶紧寄: a push
    (re.compile(r"(催)(?:一下|下|一催|催|促)(?:快递|物流|发货|仓库|商家|卖家|师傅)?"),
     "urgent", 3.0, 1),
    (re.compile(r"(快点|快些|赶紧|赶快|抓紧|快快)(?:给我|帮我|帮忙)?(?:发货|发出|发|寄|出库|送)"),
     "urgent", 2.5, 1),
    # 今天能出吗, 能发不: whether it can leave; weak, so that beside a push ("催的很急 今天能出吗")
    # it is the push's own question, not a second intent
    (re.compile(r"(?:(?<=今天)|(?<=今日)|(?<=明天))能(发货|发出|发|出库|寄出|寄|出|到)(?:吗|不|么|没)"
                r"|(?:能|可以|会)(?:(发货|发出|发|出库|寄出|寄|到)(?:不|么)|(出)(?:吗|不|么|没))"),
     "query_status", 1.5, 1),
    # 先别发, 暂时不要寄: a hold, which beside an address change is part of the change
    (re.compile(r"(?:先|暂时|暂且)(别|不要|不用)(?:发|寄)"), "cancel_order", 1.0, 0),
    # 能不能先发, 优先寄: ahead of the others
    (re.compile(r"(先|提前)(?:给我|帮我)?(?:发|寄)"), "urgent", 2.5, 1),
    (re.compile(r"(今天|今日|明天)(?:(?:一定|必须|务必)要?|要)收?到"), "urgent", 2.0, 1),
    # 急 as a word of its own ("取消订单 急", "改成...588号 急!"): said on purpose, not a hint
    (re.compile(r"(?:^|(?<=[\s,。!?;]))(急)(?=$|[\s,。!?;])"), "urgent", 2.5, 1),
)
# Phrasings that hold a keyword but ask or say nothing about an order: their words score nothing.
_MASKS = (
    # a question about the goods or the shop, not the parcel (保质期多久, 你们店在哪个城市)
    re.compile(r"(?:保质期|有效期|生产日期|保存|能放|能用|续航|充电)(?:是|有|能放|可以放)?"
               r"(?:多久|多长时间|几天|几个月|几年|多少天)"),
    re.compile(r"(?:店|门店|实体店|公司|厂家|工厂|总部|你们)(?:开)?(?:在|位于)哪(?:个|里|儿)?"
               r"(?:城市|省|市|地方)?(?!.{0,3}(?:发|寄|到|快递|包裹))"),
    # 发错群了, 发错人了: a message sent to the wrong chat
    re.compile(r"发错(?:了)?(?:群|人|消息|窗口|地方)"),
    # 收到货了 很喜欢: a receipt stated (收到货了吗, 还没收到 stay questions)
    re.compile(r"(?<![没未])(?<!没有)(?<!还没)收到(?:货|了|货了)(?![吗没么不嘛])"),
    # praise (质量很好, 很满意, 物流很快)
    re.compile(r"(?:质量|做工|服务|东西|态度|物流|客服|效率|快递)(?:也|真的|真|很|非常|挺|特别|超|蛮|"
               r"还|都)*(?:好|不错|棒|赞|满意|快)(?![吗么点些差烂])"),
    # 退款的那单, 退货了的订单: which order is meant, not a request
    re.compile(r"(?:退款|退货|退了|取消|取消了)的(?:那|这)?(?:个|笔)?(?:单|订单)"),
)
# What follows 不然/否则 in a clause is a threat or a what-if ("今天务必发出 不然客户要投诉了"),
# and a clause ending in 的话 is a condition ("还没发货的话一起发"): neither is asked for.
_HYPOTHETICAL = re.compile(r"(?:不然|否则|要不然|要不(?!要))")
# 再不发我就退了: what follows 再不...就 is a threat; only a threat's complaint is meant ("再不
# 处理我就去投诉").
_THREAT = re.compile(r"再不[^\s,。!?;]{0,6}?就")
_CONDITION_AFTER = re.compile(r"[^\s,。!?;]{0,4}的话")


@dataclass(frozen=True, slots=True)
class Hit:
    intent: str
    weight: float  # > 0 always; ``negated`` says which way it counts
    start: int
    end: int
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Ranked:
    intent: str
    score: float
    first: int
    retracted: bool


def find_hits(text: str, tokens: list[str], about_an_order: bool = False) -> list[Hit]:
    """Keyword and pattern hits in ``text`` (``tokens`` is its jieba segmentation);
    ``about_an_order``: the message names an order, parcel or product (blanked from ``text``)."""
    hits = _pattern_hits(text, about_an_order)
    covered = bytearray(len(text))
    spans = [(hit.start, hit.end) for hit in hits]
    spans.extend(match.span() for mask in _MASKS for match in mask.finditer(text))
    for start, end in spans:
        covered[start:end] = b"\x01" * (end - start)
    hits.extend(hit for hit in _token_hits(tokens) if not any(covered[hit.start:hit.end]))
    return _apply_negation(text, sorted(hits, key=lambda hit: hit.start))


def _pattern_hits(text: str, about_an_order: bool) -> list[Hit]:
    hits: list[Hit] = []
    for pattern, intent, weight, group in _PATTERNS:
        for match in pattern.finditer(text):
            index = group if match.group(group) is not None else _first_group(match)
            if pattern is _WHEN and not _parcel_object(text, match, about_an_order):
                weight_here = 0.5  # covers 什么时候 so that it does not score on its own
            else:
                weight_here = weight
            hits.append(Hit(intent, weight_here, match.start(index), match.end()))
    return hits


def _parcel_object(text: str, match: re.Match[str], about_an_order: bool) -> bool:
    """Whether 什么时候 + verb asks about a parcel: a shipping verb (发货, 到货), or a bare verb
    (发, 到) with no object of its own, or a message that names an order or a parcel word."""
    clause_start = max((m.end() for m in _CLAUSE.finditer(text, 0, match.start())), default=0)
    if _NOT_PARCEL_BEFORE.search(text, clause_start, match.start()):
        return False
    if len(match.group(2)) > 1 or about_an_order or _PARCEL_WORDS.search(text):
        return True
    after = text[match.end():match.end() + 1]
    return not after or not after.isalnum() or after in _BARE_VERB_FOLLOWERS


def _first_group(match: re.Match[str]) -> int:
    return next((i for i in range(1, (match.re.groups or 0) + 1) if match.group(i)), 0)


def _token_hits(tokens: list[str]) -> list[Hit]:
    """Longest keyword starting at each token (joining up to ``longest_keyword_tokens``)."""
    table, span, longest = keywords(), longest_keyword_tokens(), longest_keyword_chars()
    hits: list[Hit] = []
    index = offset = 0
    while index < len(tokens):
        token = tokens[index]
        size, found, joined = 1, None, ""
        if not token.isspace():
            for extra in range(min(span, len(tokens) - index)):
                joined += tokens[index + extra]
                if len(joined) > longest:
                    break
                keyword = table.get(joined)
                if keyword is not None:
                    size, found = extra + 1, (keyword, len(joined))
        if found is not None:
            keyword, length = found
            hits.append(Hit(keyword.intent, abs(keyword.weight), offset, offset + length,
                            keyword.weight < 0))
            offset += length
        else:
            offset += len(token)
        index += size
    return hits


def _apply_negation(text: str, hits: list[Hit]) -> list[Hit]:
    used: list[tuple[int, int]] = []
    starts = {hit.start for hit in hits}
    out: list[Hit] = []
    for hit in hits:
        if any(start <= hit.start < end for start, end in used):
            continue  # this word withdrew the hit before it
        clause_start = max((m.end() for m in _CLAUSE.finditer(text, 0, hit.start)), default=0)
        before = text[clause_start:hit.start]
        if _HYPOTHETICAL.search(before) or (
                hit.intent != "complaint" and _THREAT.search(before)) or (
                hit.intent != "complaint" and _PROMISED.search(before)) or (
                hit.intent == "query_status" and _CONDITION_AFTER.match(text, hit.end)):
            continue
        negator = _QUERY_NEGATOR if hit.intent == "query_status" else _NEGATOR
        negated = hit.negated or (bool(negator.search(before))
                                  and not _A_NOT_A.search(before)
                                  and not _rhetorical(text, before, hit.end))
        if negated and hit.intent == "complaint" and hit.weight < STRONG:
            continue  # 别迟到, 没坏: a weak reproach negated withdraws no complaint, it is none
        if not negated and hit.intent in _WITHDRAWABLE:
            withdrawal = _WITHDRAWAL.match(text, hit.end)
            # "退款吧 不用补发": the 不用 negates the word right after it, not the one before
            if withdrawal is not None and not starts & {withdrawal.end(), withdrawal.end() + 1}:
                negated = True
                used.append(withdrawal.span())
        out.append(Hit(hit.intent, hit.weight, hit.start, hit.end, negated))
    return out


# 这不是欺骗消费者吗: a rhetorical question affirms what its 不是 seems to negate.
_RHETORICAL_BEFORE = re.compile(r"(?:这|那|岂|难道)(?:不是|不就是)$")
_QUESTION_AFTER = re.compile(r"[^,。!?;\s]{0,8}?[吗么]")


def _rhetorical(text: str, before: str, end: int) -> bool:
    return bool(_RHETORICAL_BEFORE.search(before)) and bool(_QUESTION_AFTER.match(text, end))


def rank(hits: list[Hit]) -> list[Ranked]:
    """Intents by precedence: meant before withdrawn; among strong meant ones, actions (first
    mentioned first), then urgent, query_status, complaint; weaker ones after, by score."""
    meant: dict[str, float] = {}
    withdrawn: dict[str, float] = {}
    first: dict[str, int] = {}
    for hit in hits:
        side = withdrawn if hit.negated else meant
        side[hit.intent] = side.get(hit.intent, 0.0) + hit.weight
        first[hit.intent] = min(first.get(hit.intent, hit.start), hit.start)
    ranked = []
    for intent, start in first.items():
        pos, neg = meant.get(intent, 0.0), withdrawn.get(intent, 0.0)
        ranked.append(Ranked(intent, neg, start, True) if neg >= pos
                      else Ranked(intent, pos, start, False))
    return sorted(ranked, key=_order)


def _order(item: Ranked) -> tuple[Any, ...]:
    strong = item.score >= STRONG
    kind = 0 if item.intent in ACTIONS else RANK.get(item.intent, 9)
    position = item.first if item.intent in ACTIONS else 0
    return (item.retracted, not strong, -item.score if not strong else 0, kind, position)


def confidence(score: float, has_reference: bool) -> float:
    value = 1.0 - math.exp(-score / 1.5) + (0.05 if has_reference else 0.0)
    return min(value, 0.99)
