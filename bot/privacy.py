"""Masking of personal data (PIPL) before text reaches logs, analytics or default staff views.

Pure Python so that the gateway, the actions and the Rasa-side logging can all share it.

How it works, and why: every rule looks at a *matching copy* of the text in which full-width
characters (１３８…, ＠, （）) are folded to ASCII one for one, so positions line up with the text as
written. Each rule proposes spans; rules earlier in `_RULES` win overlaps; the spans are then replaced
in the original text, so everything that is not personal data stays exactly as the person typed it.
Rules lean towards precision on ordinary complaints (dates, ticket numbers, prices, 3楼, 快速公交3路,
12345 itself stay), and towards recall on numbers (any 13+ digit run is hidden).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, folded one character for one.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_HAN = "\u4e00-\u9fff"
_SEP = r"[- ]?"  # people type numbers in groups: "1381 2345 678", "138-1234-5678"

# -- numbers ----------------------------------------------------------------------------------------

TICKET_NUMBER = re.compile(r"(?<![0-9A-Za-z_-])[0-9A-Za-z_]{1,16}-\d{8}-\d{4,6}(?![\d-])")
"""This project's ticket numbers ("12345-20240315-0007", bot/tickets/creation.py): kept, never read as a card."""
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
"""ASCII only: Python's \\w matches Han characters, which once ate "邮箱是…谢谢" whole."""
# Number rules start with a plain character class and check what stands before it afterwards: `re`
# then skips ahead to candidate characters instead of trying every position (3-10x faster on long text).
ID_CARD = re.compile(r"[1-9](?<![0-9A-Za-z][1-9])(?:[- ]?\d){16}[- ]?[\dXx](?![0-9A-Za-z])")
_ID_SHAPE = re.compile(r"^[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]$")
MOBILE = re.compile(rf"1(?<!\d1)[3-9]\d(?:{_SEP}\d){{8}}(?!\d)")
MOBILE_86 = re.compile(
    rf"[(+8](?<![\d(+][(+8])(?:(?<=\()\+?86\)|(?<=\+)86|(?<=8)6){_SEP}1[3-9]\d(?:{_SEP}\d){{8}}(?!\d)"
)
"""With the country code, which goes too: "+86 138 1234 5678" -> "138****5678"."""
BANK_CARD = re.compile(r"\d(?<!\d\d)\d{3}[ -]?(?:\d{4}[ -]?){2,3}\d{1,4}(?!\d)")
LANDLINE = re.compile(
    r"[(0](?<![\d-][(0])(?:(?<=\()0\d{2,3}\)|(?<=0)\d{2,3}\)?)[- ]?\d{3,4}[- ]?\d{4}(?!\d)(?:\s*(?:转|-|ext\.?)\s*\d{1,5})?"
)
"""With an area code: 010-62345678, (010)62345678, 010 6234 5678, 0731-8888 6666, 0755-1234567转801."""
LOCAL_PHONE = re.compile(
    r"(?:座机|座機|固话|固話|电话|電話|联系方式|聯繫方式|tel|Tel|TEL|phone|Phone)"
    r"(?:号码?|號碼?)?\s*(?:是|为|為|:|：)?\s*(?P<v>[2-9]\d{2,3}[- ]?\d{4})(?!\d)"
)
"""A local number without area code is only a phone when a phone word stands before it: "座机 62345678"."""
QQ = re.compile(
    r"(?<![A-Za-z])(?:QQ|qq|Qq|扣扣)\s*(?:号码?|號碼?|群)?\s*(?:是|为|為|:|：)?\s*(?P<v>[1-9]\d{4,11})(?!\d)"
)
WECHAT = re.compile(
    r"(?:(?P<zh>微信|威信|薇信|V信|v信)(?:号|號|ID|id)?|(?<![A-Za-z])(?:wechat|WeChat|Wechat|weixin|wx|WX|vx|VX|Vx)"
    r"(?:\s*(?:id|ID))?)"
    r"\s*(?P<link>是|为|為|:|：|is\b)?\s*"
    r"(?P<v>[A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])"
)
"""WeChat ids are 6-20 letters, digits, - and _, starting with a letter ("微信号是 zhang_san88", "wx: abc123")."""

# -- places -----------------------------------------------------------------------------------------

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE = re.compile(
    rf"[{_PROVINCES}](?<![A-Za-z0-9][{_PROVINCES}])[A-Za-z][·•\- ]?(?P<tail>[A-Za-z0-9]{{4,5}}[A-Za-z0-9挂学警港澳]|[A-Za-z0-9]{{4}}[挂学警])"
    r"(?![A-Za-z0-9])"
)
_DATE_AFTER = re.compile(r"\d|开始|起|到|至|前|后|之前|之后|以前|以后|上午|下午|晚上|早上|中午|凌晨|那天|当天|左右")
STREET_NUMBER = re.compile(
    r"(?:[路街巷弄衖]|大道|胡同)\s*(?P<v>\d{1,5}(?:-\d{1,4})?\s*(?:号|號|弄|巷)(?:院|楼|樓)?"
    r"(?:\s*\d{1,4}\s*(?:号|號|栋|幢|棟|单元|單元|室|楼|樓|层|層))*(?:\d{1,5}(?![\d年月日]))?)"
)
"""The number after a street name: "人民路123号" -> "人民路[门牌]". Not "修路3号开始" (a date), not "3路" (a bus)."""
_UNITS = r"(?:\s*-?\s*\d{1,5}\s*(?:栋|幢|棟|单元|單元|室|号|號|楼|樓|层|層|房|户|戶))*(?:\d{1,5}(?:室|号|號|房)?)?"
_ROOM_NEXT = r"(?=\s*(?:\d{3,4}(?![\d.层層mM平㎡])|\d{1,2}\s*(?:单元|單元)))"
# "12栋", "A6栋": a first character (letter or digit, a plain class so `re` can skip ahead fast), then digits
_BUILDING_DIGITS = r"(?:(?<=\d)\d{0,3}|(?<=[A-Za-z])\d{1,4})"
BUILDING = re.compile(
    # a building with a room or unit after it, wherever it stands ("业主有12栋1504", "8、9栋201")
    rf"[A-Za-z0-9](?<![0-9A-Za-z][A-Za-z0-9]){_BUILDING_DIGITS}\s*(?:栋|幢|棟){_ROOM_NEXT}{_UNITS}"
    # a building alone, unless counted or listed ("一共有12栋楼", "多建2栋房子", "9、10、11栋", "7-9-10栋")
    rf"|[A-Za-z0-9](?<![0-9A-Za-z\-共有建多总這这几、][A-Za-z0-9]){_BUILDING_DIGITS}\s*(?:栋|幢|棟){_UNITS}"
)
UNIT_ROOM = re.compile(
    rf"(?<![\d-])(?:\d{{1,3}}-){{0,2}}\d{{1,5}}\s*(?:号楼|號樓|号院|號院|单元|單元|室(?!\s*\d\s*[厅廳])|号房|號房){_UNITS}"
)
DOOR_TRIPLE = re.compile(r"(?<![\d-])\d{1,3}-\d{1,2}-\d{3,4}(?![\d-])")
"""Building, unit and room ("3栋2单元501室", "3栋2单元501", "3-2-501"); a floor alone ("3楼") is no household."""
_NOT_IN_SCHOOL_NAMES = set("我你他她在是的了读上去到和与跟从把被就都也还说叫念考进转年月日班有及")
SCHOOL_CLASS = re.compile(
    r"(?:小学|中学|初中|高中|学校|學校|一中|二中|三中|附中|附小|职高|職高|中专|中專|幼儿园|幼兒園|大学|大學|学院|學院)(?:的)?"
    r"(?P<g>\s*(?:(?:初|高|大)[一二三四1-4]|[一二三四五六七八九1-9]\s*年[级級])(?:\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*班)?"
    r"|\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*班)"
)
"""School with grade or class ("实验中学初二3班"): together they point at one child. A school alone stays.
The pattern anchors on the school word (fast); `_school_span` walks back over the school's name."""

# -- names ------------------------------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔"
    "向常汤康易乔赖文施洪辛柳庞樊殷兰齐季申欧聂耿关牛葛凌温芦章鲁邢岳米包华梅佟裴霍单詹宁祝左柏靳翟"
    "陳楊黃趙吳週孫馬劉鄭謝許韓馮鄧蕭葉魏蘇呂盧姚瀋鍾陸錢嚴羅聶龔賀"
)
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|东方|皇甫|令狐|慕容|端木|司徒|夏侯|歐陽|諸葛"
_NAME_BODY = rf"(?:{_COMPOUND_SURNAMES})[{_HAN}]{{1,2}}?|[{_SURNAMES}][{_HAN}]{{1,2}}?"
# What may follow a name: punctuation, the end, or a word that starts a new clause.
_AFTER_NAME = (
    r"(?=[，。,.!！?？;；:：、)）\s]|$|在|是|的|被|和|跟|与|今年|今天|现在|去年|已经|一直|经常|总是|老是|说|把|让|不|没|"
    r"也|都|又|就|还|从|上|读|才|岁|歲|打|骂|罵|欺负|欺負|有|要|想|住|给|給|对|對|同学|同學|同志|电话|電話|手机|"
    r"手機|身份|身体|身體|来|來|去|嗎|吗|呢|啊|吧|了|，|家|他|她|我|最近|昨天|前天|初|高|小学|中学|$)"
)
_NOT_NAME_CHARS = set("我你他她它们們的了是在被把和跟说說就都也还還又很太不没沒个個这這那哪么麼怎岁歲")
# Words that start with a surname and read like a name after 我是 / 我儿子 ("我是高三的", "我妈周一走").
_NOT_NAME_WORDS = """学生 家长 老师 居民 业主 市民 一名 一个 初中 高中 大学 新来 外地 本地 高一 高二 高三 高兴 高考 高职 高校
    高烧 周一 周二 周三 周四 周五 周六 周日 周末 万一 明天 明年 白天 全家 孙子 孙女 包子 叶子 林子 江湖 江南
    夏天 凌晨 黎明 宁可 宁静 康乐 文明 金华 宁波 沈阳 岳阳 邵阳 华山 韩国 欧美 黄金 钱财 杨梅 梅雨 雷雨 洪水
    朱红 万元 孔子 孟子 祝福 温和 庞大 华丽 章程 于是 方便 常常 常年 马上 单亲 单身 单位 成绩 程序 安全 关心"""
_NOT_NAMES = set(_NOT_NAME_WORDS.split())
_RELATIONS = (
    "我儿子|我女儿|我孩子|我家孩子|我家小孩|我的孩子|我妈妈|我妈|我母亲|我爸爸|我爸|我父亲|我老公|我丈夫|我老婆|我妻子|"
    "我爱人|我哥哥|我哥|我姐姐|我姐|我弟弟|我弟|我妹妹|我妹|我爷爷|我奶奶|我外婆|我外公|我姥姥|我姥爷|我舅舅|我姑姑|"
    "我叔叔|我阿姨|我同学|我同桌|我室友|我朋友|我男朋友|我女朋友|我男友|我女友|我邻居|我继父|我继母|我前夫|我前妻|"
    "班主任|班长|同桌|室友|继父|继母|"
    "我兒子|我女兒|我媽媽|我媽|我爸|我老公|我哥|我姐|我弟|我妹|我同學|我朋友|我鄰居|班主任|同學"
)
_CONNECTOR = r"(?P<link>叫|名叫|名字叫|名字是|是|就是)?"
# Characters common in given names: a weak cue ("我是", "我妈") needs the name to be made of them, so that
# "我爸高血压" or "我妈于心不忍" stay as written while "我妈陈秀英身体不好" is masked.
_GIVEN = set(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩凯健俊帆帅旭宁龙林欢阳建国"
    "峰斌波亮飞鑫博文武新志忠海云雪梅琳晶丹倩婷颖慧巧美淑惠珠翠雅芝荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉菲蕾薇"
    "蓉君琴蕊怡婉悦韵园艺咏卿聪澜纯毓昭冰爽琬茗羽希欣飘育滢馥筠柔竹凝晓霄枫芸寒伊亚宜可舒影荔思丝晴瑶琦梦"
    "璐雯露瑾琪若涵萱菁蓓秋婕曼清梓睿子轩然泽辰皓晨铭逸昊天一诗雨馨彤小大中三四五二德福生发财贵富山森水永"
    "长春东南正仁义礼智信金银宝成功立伦祥利彪虎鸿光耀松柏兵民泉江河湖俭学士家庆喜乐安康和顺达宏伯仲元晋承"
    "继宗祖茂盛昌隆振兴星晖良善楠栋远航宸钰沐霖烨熙煜琛卓杨婧妍瑜珂蔚翔腾斐程朗毅锋骏骐晟昕冬夏霜莹琰玥璇"
    "菡茜洁茹萌甜蓝岚璟晗曦哲瀚铮嵩恒舟沛澄奕恺政楷鹤尧舜禹诚敬谦恭群雄豪壮威力坚韬锦绣彩虹泓淼溪潇湘沁"
    "浚润滨钧锐钊炜烁焱炎灿煌熠桐蕙卫红霏琰依依娇妮姗珊琴翠凤鹃菊莲荷桃杏兰梅苗青翠静雯迪乔笑笛淇"
    "偉芳麗強軍艷傑娟濤華玉萍紅燕鵬輝浩凱健俊帥龍歡陽國峰鑫博誌忠雲雪梅琳晶丹倩婷穎慧美淑惠珠翠雅"
)
SELF_NAME = re.compile(
    rf"(?P<cue>我叫|我的名字是|我的名字叫|名字是|名字叫|我是|本人|姓名\s*[:：]?\s*|我叫做|我名叫)\s*(?P<v>{_NAME_BODY}){_AFTER_NAME}"
)
SELF_NAME_LOOSE = re.compile(rf"(?P<cue>我叫|我的名字是|我的名字叫|姓名\s*[:：]\s*|我名叫)\s*(?P<v>[{_HAN}]{{2,3}})")
"""After "我叫"/"姓名：" a name follows whatever comes after it ("我叫阿明2020年…"); other cues need the surname test."""
RELATION_NAME = re.compile(rf"(?P<cue>{_RELATIONS}){_CONNECTOR}\s*(?P<v>{_NAME_BODY}){_AFTER_NAME}")
RELATION_NAME_LOOSE = re.compile(
    rf"(?P<cue>{_RELATIONS}){_CONNECTOR}\s*(?P<v>(?:{_COMPOUND_SURNAMES})[{_HAN}]{{1,2}}|[{_SURNAMES}][{_HAN}]{{2}})"
)
"""A relation word, a surname and two more characters with no clause word after them ("我妈陈秀英身体不好")."""
ENGLISH_NAME = re.compile(
    r"(?i:\bmy name is|\bmy name's|\bI am called|\bI'm called|\bcall me)\s+(?P<v>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
)


def is_valid_id_card(number: str) -> bool:
    """GB 11643 / ISO 7064 MOD 11-2 check digit: tells a real ID number from a random 18-digit string."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


# -- replacements -----------------------------------------------------------------------------------


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text)


def _mask_id(value: str) -> str | None:
    number = _digits(value)
    if not _ID_SHAPE.match(number):
        return None  # 18 digits that are no ID (a bank card, an order number): the card rule hides them
    return number[:3] + "*" * 11 + number[-4:] if is_valid_id_card(number) else "[证件号]"


def _mask_mobile(value: str) -> str:
    digits = re.sub(r"\D", "", value)[-11:]
    return digits[:3] + "****" + digits[-4:]


_TITLES = (
    "老师",
    "老師",
    "阿姨",
    "叔叔",
    "医生",
    "醫生",
    "警官",
    "师傅",
    "師傅",
    "先生",
    "女士",
    "校长",
    "主任",
    "经理",
    "总",
    "老",
    "某",
)


_STRONG_CUES = ("我叫", "我的名字", "名字", "姓名", "我名叫", "叫", "名叫")


def _mask_name(match: re.Match[str]) -> str | None:
    """A surname with a title ("李老师", "王某") names no one; words that only look like names stay.

    After a strong cue ("我叫", "姓名：", "我女儿叫") anything is a name; after a weak one ("我是", "我妈")
    the given name must be made of common given-name characters.
    """
    value = _value(match)
    groups = match.groupdict()
    cue = (groups.get("cue") or "") + (groups.get("link") or "")
    strong = cue.startswith(_STRONG_CUES) or cue.endswith(("叫", "名叫", "名字叫", "名字是"))
    keep = 2 if value[:2] in _COMPOUND_SURNAMES.split("|") and len(value) > 2 else 1
    if not strong and not set(value[keep:]) <= _GIVEN:
        return None
    if value in _NOT_NAMES or value[:2] in _NOT_NAMES or _NOT_NAME_CHARS & set(value):
        return None
    if value[1:].startswith(_TITLES):
        return None
    return value[:keep] + "*" * (len(value) - keep)


def _is_a_date(match: re.Match[str]) -> bool:
    """ "修路3号开始", "这条街15号前": a day of the month after a street word, not a house number."""
    number = re.match(r"\d+", match.group("v"))
    after = match.string[match.end() : match.end() + 2]
    return number is not None and int(number.group(0)) <= 31 and bool(_DATE_AFTER.match(after))


def _mask_plate(match: re.Match[str]) -> str | None:
    return "[车牌]" if any(c.isdigit() for c in match.group("tail")) else None


def _mask_wechat(match: re.Match[str]) -> str | None:
    value = match.group("v")
    has_link = bool(match.group("link")) or (match.group("zh") is not None)
    if not has_link and not re.search(r"[\d_-]", value):
        return None  # "on WeChat yesterday": an English word after the app's name is no id
    if match.group("zh") is None and not match.group("link") and value.isalpha():
        return None
    return "[微信号]"


@dataclass(frozen=True)
class _Rule:
    """A pattern, the group it hides ("v" when present, else the whole match) and what it puts there."""

    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str | None]
    hints: tuple[str, ...] = ()
    """Substrings one of which every match contains: a text without any skips the rule (speed)."""
    span: Callable[[re.Match[str]], tuple[int, int]] | None = None
    """Where the hidden text is, when it is not the "v" group or the whole match."""


def _group(match: re.Match[str]) -> tuple[int, int]:
    return match.span("v") if "v" in match.re.groupindex and match.group("v") is not None else match.span()


def _value(match: re.Match[str]) -> str:
    start, end = _group(match)
    return match.string[start:end]


def _school_span(match: re.Match[str]) -> tuple[int, int]:
    """The school's name before its school word (up to 10 Han characters or digits, stopping at words
    such as 在/是/的 that end a name), then the word, grade and class; empty when there is no name."""
    text, start = match.string, match.start()
    while start > 0 and match.start() - start < 10:
        char = text[start - 1]
        if not ("\u4e00" <= char <= "\u9fff" or char.isdigit()) or char in _NOT_IN_SCHOOL_NAMES:
            break
        start -= 1
    return (start, match.end()) if start < match.start() else (match.start(), match.start())


_RULES: tuple[_Rule, ...] = (
    _Rule(TICKET_NUMBER, lambda m: m.group(0), ("-",)),  # claims its span so no number rule cuts into it
    _Rule(EMAIL, lambda m: "[邮箱]", ("@",)),
    _Rule(ID_CARD, lambda m: _mask_id(m.group(0))),
    _Rule(MOBILE_86, lambda m: _mask_mobile(m.group(0)), ("86",)),
    _Rule(MOBILE, lambda m: _mask_mobile(m.group(0))),
    _Rule(BANK_CARD, lambda m: "[卡号]"),
    _Rule(LANDLINE, lambda m: "[电话]", ("0",)),
    _Rule(LOCAL_PHONE, lambda m: "[电话]"),
    _Rule(QQ, lambda m: "[QQ号]", ("QQ", "qq", "Qq", "扣扣")),
    _Rule(
        WECHAT,
        _mask_wechat,
        ("微信", "威信", "薇信", "V信", "v信", "wechat", "WeChat", "Wechat", "weixin", "wx", "WX", "vx", "VX", "Vx"),
    ),
    _Rule(PLATE, _mask_plate),
    _Rule(SCHOOL_CLASS, lambda m: "[学校班级]", ("学", "學", "校", "园", "園", "附", "职", "職", "中"), _school_span),
    _Rule(STREET_NUMBER, lambda m: None if _is_a_date(m) else "[门牌]", ("号", "號", "弄", "巷")),
    _Rule(BUILDING, lambda m: "[门牌]", ("栋", "幢", "棟")),
    _Rule(UNIT_ROOM, lambda m: "[门牌]", ("号楼", "號樓", "号院", "號院", "单元", "單元", "室", "号房", "號房")),
    _Rule(DOOR_TRIPLE, lambda m: "[门牌]", ("-",)),
    _Rule(SELF_NAME, _mask_name),
    _Rule(SELF_NAME_LOOSE, _mask_name),
    _Rule(RELATION_NAME, _mask_name),
    _Rule(RELATION_NAME_LOOSE, _mask_name),
    _Rule(ENGLISH_NAME, lambda m: m.group("v")[0] + "***", ("name", "Name", "NAME", "call", "Call", "CALL")),
)


def _spans(folded: str) -> list[tuple[int, int, str]]:
    taken: list[tuple[int, int, str]] = []
    for rule in _RULES:
        if rule.hints and not any(hint in folded for hint in rule.hints):
            continue
        for match in rule.pattern.finditer(folded):
            start, end = rule.span(match) if rule.span else _group(match)
            if start == end or any(start < e and s < end for s, e, _ in taken):
                continue
            replacement = rule.replace(match)
            if replacement is not None:
                taken.append((start, end, replacement))
    return sorted(taken)


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation as ASCII, one character for one (positions kept)."""
    return text.translate(_FOLD)


_SPOKEN_DIGITS = str.maketrans("零〇幺一二三四五六七八九两", "0011234567892")
_SPOKEN_RUN = re.compile(
    r"[零〇幺一二三四五六七八九两\d][零〇幺一二三四五六七八九两\d\s-]{9,}[零〇幺一二三四五六七八九两\d]"
)


def spoken_digits(text: str) -> str:
    """ "幺三九 零六二幺 五五八七" (a number read out, as voice input and older people write it) in digits,
    one character for one (positions kept); only a run long enough to be a phone number, so "三楼" or
    "一两个月" stay words."""
    return _SPOKEN_RUN.sub(lambda m: m.group(0).translate(_SPOKEN_DIGITS), text)


def mask(text: str) -> str:
    """`text` with ID numbers, phones (in Chinese numerals too), QQ/WeChat ids, e-mails, cards, plates,
    addresses, schools and names hidden."""
    if not text:
        return text
    spans = _spans(spoken_digits(fold(text)))
    if not spans:
        return text
    out, last = [], 0
    for start, end, replacement in spans:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def contains_personal_data(text: str) -> bool:
    """Whether `mask` would change the text: used to warn people who paste personal data unasked."""
    return mask(text) != text


def mask_contact(kind: str, value: str) -> str:
    """A contact as shown before it is revealed: enough to tell two apart or spot a typo, not to use one.

    The one rule for staff lists and for the summary read back to the person.
    """
    value = fold(value or "").strip()
    if kind == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) <= 6:
        return "*" * len(value)
    if kind == "phone":
        digits = re.sub(r"[^\d+]", "", value)
        return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "*" * len(value)
    return value[:2] + "***" + value[-2:]
