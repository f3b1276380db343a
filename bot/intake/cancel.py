"""Is this message a real "cancel"? And, inside the ticket form, is it an answer, a redirect or a question?

NLU's `cancel` intent is a guess; inside the form a wrong guess throws away what the person was
telling us ("先说电梯吧" is not giving up). Only explicit giving-up cancels the form: every clause of
the message is a cancel phrase ("算了，不办了", "取消吧", "不辦了", "唔使喇", "never mind") or a
filler ("好吧", "谢谢"). A clause that says anything else ("算了，先说另一件事", "no wait, it's
Tuesday", "算了不说这个了，地址是…") makes the message an answer or a redirect.

Pure functions (no Rasa, no database): the actions of the ticket form call them.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.text import length_units, reads_as_question, to_simplified

CancelKind = Literal["cancel", "soft"]
"""`cancel`: giving up, whatever the question. `soft`: a bare "算了" / "不用了" / "no thanks", which at
an optional question (contact, callback time, what to edit) only means no to that question."""

_CLAUSE_SPLIT = re.compile(r"[，,。.!！?？;；、~～…\n]+|\s*(?:—|--)\s*")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_DROP = re.compile(r"[\s\"“”‘’「」『』()（）\[\]【】<>《》*_#@^`|/\\:：-]+")
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]+")

# Chinese (Simplified after conversion; Traditional and Cantonese are converted or listed here).
_ZH_PREFIX = (
    r"(?:哎|唉|呃|嗯|好|那|那就|那还是|就|还是|我|我们|我想|我要|我看|想|要|帮我|请|麻烦|你帮我|可以|直接|干脆|还是先|先"
    r"|这个|这件事|这事|刚才的|刚才那个|问题)*"
)
_ZH_SUFFIX = r"(?:吧|了|啦|啊|呀|哈|喇|咯|嘛|呢|吗|嘞|嗎|罢|掉|好了|算了|喔|哦|呗)*"
_ZH_STRONG = (
    r"取消(?:登记|工单|申请|这个|这单|反映|投诉|提交|办理)?",
    r"不(?:办|弄|登记|报|反映|投诉|填|搞|做|提交|申请|处理|继续)(?:这个|这件事)?",
    r"不想(?:再)?(?:办|弄|登记|填|反映|投诉|继续|提交|报|搞)(?:这个|这件事|这种事|这事)?",
    r"不用(?:登记|弄|办|处理|提交|报|反映|继续)",
    r"(?:不用|不必|不需要|唔使|唔洗)(?:帮我|给我|替我|帮忙)(?:登记|记|记下来|记录|提交|报|反映)(?:了)?",
    r"不要(?:登记|提交|办|弄|处理)",
    r"别(?:登记|弄|办|提交|报|填|问)",
    r"算了(?:吧)?不(?:弄|办|登记|要|用|搞|报|填|反映)",
    r"算了算了",
    r"退出(?:登记)?",
    r"(?:撤回|撤销)(?:刚才的)?(?:问题|登记|工单|申请)?",
    r"取消刚才的(?:登记|问题|工单|申请)?",
    r"不用(?:管|处理|跟进)",
    r"(?:已经)?解决(?:了)?",
    r"就到这里|到此为止",
    r"(?:就)?当我没说(?:过)?",
    r"算咗(?:佢)?",
    r"唔(?:搞|做|办|登记|报|要|想搞)(?:喇|啦|了|嘞)?",
    r"唔使(?:登记|搞|办|理)",
    # postponing or handling it oneself: "下次再说", "我自己再托人问问", "不麻烦你们了"
    r"(?:下次|以后|改天|回头|有空|过两天)再(?:说|讲|弄|办|来|联系|找你们)",
    r"(?:我)?自己(?:再)?(?:想办法|想想办法|找找|找找看|找人|托人(?:问问)?|问问|处理|解决|去问问?|看看|搞掂|搞定)",
    r"不(?:麻烦|劳烦)(?:你们|您|你)?",
    # accepting it as it is: "那就认了吧", "只能认了"
    r"(?:那就|只能|只好|我就)?认了",
    # asking elsewhere instead: "我去问下社区", "我去问问居委会" (not "我去问下物业再来告诉你")
    r"(?:我)?(?:去|再去)问(?:下|一下|问)?(?:社区|居委会|街道|村里|村委会|学校|老师|单位|派出所)",
)
_ZH_SOFT = (
    r"算(?:了)?",
    r"不用(?:麻烦)?",
    r"不要",
    r"不需要",
    r"没事(?:了)?",
    r"唔(?:使|洗|駛|驶)",
)
_ZH_FILLER_WORDS = (
    r"太麻烦|麻烦|嗯|嗯嗯|好|好吧|好的|行|行吧|那|那就这样|就这样|先这样|谢谢|谢了|多谢|唔该|唔该晒|抱歉|不好意思|对不起"
    r"|哎|唉|呃|啊|吧|知道了|明白了|晓得了|拜拜|再见"
)
_ZH_FILLER = re.compile(rf"^(?:{_ZH_FILLER_WORDS})+$")

_EN_PREFIX = (
    r"(?:(?:please|pls|plz|ok|okay|oh|ah|hmm|um|uh|just|actually|no|nah|sorry|yeah|well|then|so"
    r"|i want to|i wanna|i'd like to|i would like to|let's|lets|can you|could you|can we|please just)\s+)*"
)
_EN_SUFFIX = r"(?:\s+(?:please|pls|plz|thanks|thank you|then|now|already|for now))*"
_EN_STRONG = (
    r"cancel+(?:\s+(?:it|this|that|the\s+(?:ticket|report|form|registration|request|complaint)|everything|all))?",
    r"canc?le|cansel|cancell?ed",
    r"forget\s+(?:about\s+)?(?:it|this|that)",
    r"forgot\s+it",
    r"stop(?:\s+(?:it|this|that|the form|asking))?",
    r"quit(?:\s+(?:it|this|the form|this form))?",
    r"i(?:'m|\s+am)\s+done|i\s+give\s+up|give\s+up",
    r"(?:i\s+)?(?:don't|dont|do not)\s+(?:want\s+to\s+)?(?:file|report|continue|submit|log)(?:\s+(?:it|this|anything|anymore))*",
    r"(?:don't|dont|do not)\s+bother",
    r"withdraw(?:\s+(?:it|this))?",
    r"i'?ll\s+(?:figure|sort|work)\s+it\s+out(?:\s+myself)?|i'?ll\s+(?:handle|deal\s+with)\s+it\s+myself",
    r"no\s+need\s+to\s+(?:file|report|log|register|submit|record)(?:\s+(?:it|this|that|anything))?",
    r"(?:i\s+guess\s+)?(?:i|we)\s+(?:(?:just|will)\s+)?(?:(?:have|need)\s+to\s+)?(?:just\s+)?accept\s+it",
    r"i'?ll\s+(?:look|check)\s+(?:it|them|those|that|this)\s+up(?:\s+myself)?|i'?ll\s+(?:look\s+into|find)\s+(?:it|them|that|this)\s+myself",
)
_EN_SOFT = (
    r"never\s*mind|nevermind|nvm|never\s+mnd",
    r"no\s+(?:thanks|thank you|need)",
    r"(?:it's|its|it is)\s+(?:ok|fine|okay)",
)
_EN_FILLER = re.compile(
    r"^(?:ok|okay|thanks|thank you|thx|sorry|then|please|pls|well|so|yeah|alright|fine|bye|got it|i see"
    r"|thanks anyway|thank you anyway|anyway|cheers|good night|goodbye)$"
)


def _compile(prefix: str, cores: tuple[str, ...], suffix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}(?:{'|'.join(cores)}){suffix}$")


_ZH_STRONG_RE = _compile(_ZH_PREFIX, _ZH_STRONG, _ZH_SUFFIX)
_ZH_SOFT_RE = _compile(_ZH_PREFIX, _ZH_SOFT, _ZH_SUFFIX)
_EN_STRONG_RE = _compile(_EN_PREFIX, _EN_STRONG, _EN_SUFFIX)
_EN_SOFT_RE = _compile(_EN_PREFIX, _EN_SOFT, _EN_SUFFIX)


_REDIRECT = re.compile(
    r"先说|先說|另一件|另外|地址|在哪|是在|其实|其實|不是|换个|換個|改成|应该是|應該是|是这样|是這樣"
    r"|\b(?:wait|actually|instead|first|rather|change|it'?s|it is|address|located)\b"
)
"""Words that turn a clause into a redirect or a correction: the form goes on."""
_KEEP = re.compile(
    r"(?:给我|帮我|你就|就给我|还是)?(?:记到|记下|记上|记着|记一下|登记|提交|报上去|反映上去|交上去)"
    r"|\b(?:record|log|file|submit|register)\s+(?:it|this|that)\b",
    re.IGNORECASE,
)
"""A request to record the report beside the angry "算了算了" ("算了算了 说起就来气 你就给我记到嘛"): not a cancel."""
_NOT_KEEP = re.compile(r"(?:不|别|没|甭)[^,.!?;]{0,4}(?:记|登记|提交|报|反映|交)|\b(?:don'?t|do not|no need to)\b")
"""...unless the record is what is refused ("我不想再登记这种事了")."""


def _normal(text: str | None) -> str:
    return to_simplified(_EMOJI.sub(" ", str(text or ""))).strip().lower().replace("’", "'")


def clauses(text: str | None) -> list[str]:
    """The message cut at punctuation (and at spaces between Chinese words), cleaned, empty ones left out."""
    parts: list[str] = []
    for piece in _CLAUSE_SPLIT.split(_normal(text)):
        piece = piece.strip()
        if not piece:
            continue
        words = piece.split() if _HAN.search(piece) else [piece]
        for word in words:
            word = re.sub(r"\s+", " ", _DROP.sub(" ", word)).strip() if not _HAN.search(word) else _DROP.sub("", word)
            if word:
                parts.append(word)
    return parts


def _kind_of_clause(clause: str) -> CancelKind | Literal["filler"] | None:
    if _HAN.search(clause):
        if _ZH_FILLER.match(clause):
            return "filler"
        if _ZH_STRONG_RE.match(clause):
            return "cancel"
        if _ZH_SOFT_RE.match(clause):
            return "soft"
        return None
    if _EN_FILLER.match(clause):
        return "filler"
    if _EN_STRONG_RE.match(clause):
        return "cancel"
    if _EN_SOFT_RE.match(clause):
        return "soft"
    return None


def cancel_kind(text: str | None) -> CancelKind | None:
    """`cancel` for explicit giving-up, `soft` for a bare "算了" / "不用了" / "never mind", else None.

    Every clause must be a cancel phrase or a filler, and at least one a cancel phrase: a clause that
    says anything else makes the message something to hear, not a cancel.
    """
    parts = clauses(text)
    kinds = [_kind_of_clause(c) for c in parts]
    if not kinds:
        return None
    if None in kinds:
        # "算了 不弄了 同学说上一届有人举报…": an explicit giving-up with its reasons is still a cancel;
        # a redirect ("算了，先说另一件事") or a question beside it is not
        others = [c for c, k in zip(parts, kinds, strict=True) if k is None]
        if "cancel" in kinds and not any(
            _REDIRECT.search(c) or reads_as_question(c) or (_KEEP.search(c) and not _NOT_KEEP.search(c)) for c in others
        ):
            return "cancel"
        return None
    if "cancel" in kinds:
        return "cancel"
    if "soft" in kinds:
        return "soft"
    return None


def is_cancel(text: str | None) -> bool:
    """True only when the person explicitly gives up ("取消", "算了，不办了", "不辦了", "算咗", "forget it")."""
    return cancel_kind(text) is not None


# -- inside the form: redirects, greetings, questions, answers ----------------------------------------

_META_ZH = (
    r"算了",
    r"不是(?:这个|这样|那个)?(?:意思)?",
    r"不对",
    r"(?:我)?说错了",
    r"错了",
    r"等(?:一)?下|等等|稍等(?:一下)?",
    r"(?:先)?(?:说|讲|聊)(?:另外|另一|别的|其他)(?:一)?(?:件|个)?(?:事|事情|问题)?",
    r"换(?:个|一个)(?:话题|问题|事)",
    r"不说(?:这个)?(?:了)?",
    r"我(?:的)?意思是",
    r"稍后再说|回头再说",
)
_META_EN = (
    r"no\s+wait|wait|hold\s+on|hang\s+on|one\s+sec(?:ond)?|hmm+|um+|uh+|sorry|no|not\s+that|that's\s+not\s+what\s+i\s+meant"
    r"|not\s+what\s+i\s+meant|i\s+mean(?:t)?|let\s+me\s+start\s+with\s+something\s+else|something\s+else(?:\s+first)?"
    r"|actually",
)
_META_ZH_RE = re.compile(rf"^(?:{'|'.join(_META_ZH)}|{_ZH_FILLER_WORDS})+$")
_META_EN_RE = re.compile(rf"^(?:(?:{'|'.join(_META_EN)})\s*)+$")


def is_redirect_only(text: str | None) -> bool:
    """Talk about the talk and nothing else: "不是这个意思", "算了，先说另一件事", "wait", "等一下"."""
    parts = clauses(text)
    if not parts:
        return False
    for part in parts:
        if _HAN.search(part):
            if not _META_ZH_RE.match(part):
                return False
        elif not (_META_EN_RE.match(part) or _EN_FILLER.match(part)):
            return False
    return True


_GREETING_ZH = re.compile(
    r"^(?:你好|您好|你们好|大家好|嗨|哈喽|哈啰|喂|在吗|在不在|有人吗|早|早上好|上午好|中午好|下午好|晚上好|早安|晚安"
    r"|谢谢|谢了|多谢|感谢|辛苦了|麻烦了|好的|好吧|好|行吧|知道了|明白了|晓得了|嗯|嗯嗯|哦|噢|喔|呀|啊|呢|吗|啦|唔该|唔该晒|多谢晒|你|您|们|哈|哈哈)+$"
)
_GREETING_EN = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|yo|good\s+(?:morning|afternoon|evening)|thanks|thank\s+you|thx|ty|ok|okay|there"
    r"|are\s+you\s+there|anyone\s+there|so\s+much|a\s+lot|very\s+much|again)\s*)+$"
)


def is_pleasantry(text: str | None) -> bool:
    """A greeting or thanks with nothing else in it ("你好", "在吗", "谢谢！", "hi there", "thank you")."""
    parts = clauses(text)
    if not parts:
        return True
    return all(_GREETING_ZH.match(p) if _HAN.search(p) else _GREETING_EN.match(p) for p in parts)


_QUESTION_ZH = re.compile(
    r"(?:吗|嗎|呢|么|麼)$|(?:吗|嗎)[\s,，;；]|[?？]|^请问|会不会|會不會|能不能|可不可以|是不是|有没有|有沒有|怎么|怎麼|为什么|為什麼|为啥|多久"
    r"|什么时候|什麼時候|谁会|誰會|哪里|哪裡|咩|點解|点解|係咪|系咪|會唔會|会唔会|有冇"
)
_QUESTION_EN = re.compile(
    r"^(?:(?:btw|by the way|also|and|oh|ok|okay|so|but|wait|one more thing|quick question)[,\s]+)*"
    r"(?:will|would|can|could|does|do|did|is|are|was|should|shall|may|what|how|who|why|when|where|which)\b",
    re.IGNORECASE,
)


def is_question(text: str | None) -> bool:
    """A question to the bot rather than a detail for staff: a question mark, or a question's words."""
    raw = str(text or "").strip()
    if not raw:
        return False
    if raw.rstrip().endswith(("?", "？")):
        return True
    simple = _normal(raw)
    if _HAN.search(simple):
        return bool(_QUESTION_ZH.search(re.sub(r"[。.!！~～…\s]+$", "", simple)))
    return bool(_QUESTION_EN.match(simple))


_ANSWER_MARKERS = {
    "problem_where": re.compile(
        r"\d|路|街|(?<![知味难难说報报一频渠管軌轨厚霸公])道|巷|弄|号|區|区|县|縣|市|镇|鎮|村|小区|社区|花园|大厦|广场|栋|棟|楼|樓|单元|门口|附近|对面|旁边|学校|公园"
        r"|公司|工厂|厂|店|商场|医院|醫院|宿舍|车站|車站|地铁|地鐵"
        r"|\bno\.?\s*\d|\b(?:road|rd|street|st|avenue|ave|lane|district|village|town|county|city|building|bldg|block|floor|near|next to"
        r"|opposite|gate|park|school|community|garden|estate|plaza|square|station|corner|company|factory|office|shop|mall"
        r"|hospital|dorm|dormitory|campus)\b",
        re.IGNORECASE,
    ),
    "problem_since": re.compile(
        r"\d|天|周|週|星期|礼拜|月|年|昨|今|前|上|早|晚|点|點|号|號|以前|以来|开始|一直|最近|刚"
        r"|\b(?:day|days|week|weeks|month|months|year|years|ago|since|yesterday|today|last|morning|night|evening"
        r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|always|recently)\b",
        re.IGNORECASE,
    ),
    "contact_value": re.compile(r"\d[\d\s().+-]{5,}\d|@|微信|wechat|weixin|\bwx\b", re.IGNORECASE),
    "callback_time": re.compile(
        r"\d|点|點|上午|下午|晚上|中午|早上|周|週|星期|礼拜|都可以|随时|隨時|\b(?:am|pm|morning|afternoon|evening|anytime|weekend)\b",
        re.IGNORECASE,
    ),
    "person_age": re.compile(r"\d|岁|歲|初[一二三]|高[一二三]|大[一二三四]|\b(?:years?|yo)\b", re.IGNORECASE),
    "problem_who": re.compile(
        r"公司|单位|單位|店|饭店|商家|物业|物業|学校|老师|老師|同学|同學|邻居|鄰居|老板|老闆|家长|父母|局|所|中心|医院|醫院"
        r"|\b(?:company|shop|store|restaurant|bar|landlord|neighbou?r|school|teacher|boss|manager|office|hospital|bureau)\b",
        re.IGNORECASE,
    ),
}


_DONT_KNOW = re.compile(
    r"\b(?:i\s+)?(?:don'?t|do not|dunno)\s*(?:know|remember|recall)?\b|\bnot sure\b|\bno idea\b|can'?t remember"
    r"|不清楚|不知道|不记得|记不清|忘了|说不清|说不上来|唔知|唔记得"
)


_NO_ANSWER = re.compile(
    r"\b(?:i\s+)?(?:don'?t|do not)\s+(?:really\s+)?(?:know|remember|recall)\b|\bdunno\b|\bnot sure\b|\bno idea\b"
    r"|\bno clue\b|can'?t (?:remember|recall|say)|不清楚|不知道|不记得|记不清|忘了|说不清|说不上来|唔知|唔记得|唔清楚"
)
NO_ANSWER_MAX_UNITS = 8
"""Longer messages carry something besides "I don't know" ("not sure, maybe since March") and are taken as said."""


def dont_know(text: str | None) -> bool:
    """ "I don't know", "not sure", "记不清了", "唔知": a short message saying the person has no answer to
    give, which is an answer (NLU may read "I don't know" as affirm and "not sure" as a yes)."""
    normal = _normal(text)
    return bool(_NO_ANSWER.search(normal)) and length_units(normal) <= NO_ANSWER_MAX_UNITS


def looks_like_answer(slot: str | None, text: str | None) -> bool:
    """Does a message NLU took for small talk carry an answer to the form's question `slot`?

    A place, a time or a party in the words ("Chaoyang district, Jianguo Road 88", "上周二"), or
    anything but a pleasantry for a free-text question with no marker list (the description).
    """
    if not text or not str(text).strip() or is_pleasantry(text):
        return False
    if slot and _DONT_KNOW.search(_normal(text)):
        return True  # "I don't know", "记不清了": an answer too (asking again would loop)
    if slot == "problem_what":
        return len(str(text).strip()) >= 4
    marker = _ANSWER_MARKERS.get(slot or "")
    return bool(marker and marker.search(_normal(text)))


__all__ = [
    "CancelKind",
    "cancel_kind",
    "clauses",
    "dont_know",
    "is_cancel",
    "is_pleasantry",
    "is_question",
    "is_redirect_only",
    "looks_like_answer",
]
