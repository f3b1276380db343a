"""The person's language: read from what they write, kept for the conversation, used on the way out.

Three languages: `zh-Hans` (Simplified Chinese, the default), `zh-Hant` (Traditional Chinese: Hong
Kong, Macau, Taiwan, overseas) and `en` (English). `detect` reads one message; a message that says
nothing decisive (digits, emoji, "ok", a phone number, a short fragment) gives None, and
`conversation_language` keeps the conversation's previous language for it.

* English: Latin words dominate and there is no Han character. A single word ("ok", "hello",
  "WiFi") is not decisive, nor are words that are all pinyin ("Chaoyang Lu") or all
  international ("ok ok", "wifi app").
* Traditional vs Simplified: zhconv's conversion tables. A *marker* of a script is a character
  that zhconv converts to the other script on its own and that no phrase of the table keeps as
  it is: 個 問 們 這 說 are Traditional markers, 这 们 说 发 are Simplified markers; 后 里 台 干
  余 (valid in both scripts: 皇后, 鄰里, 臺/台) and 乾 覆 瞭 (kept in Simplified phrases: 乾隆,
  覆盖, 瞭望) are neither. Written Cantonese characters (嘅 咗 冇 唔 啲 嘢 佢 哋 …) count half
  towards Traditional (most written Cantonese is Traditional; Guangdong writers mix them with
  Simplified, which then wins). The script with more weight wins; Han text with no markers
  ("你好", "好的") keeps the previous script.

Pure Python with zhconv only: the Rasa environment imports it too (bot/text.py's rule).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

import zhconv

SIMPLIFIED: Final = "zh-Hans"
TRADITIONAL: Final = "zh-Hant"
ENGLISH: Final = "en"
LANGUAGES: Final = (SIMPLIFIED, TRADITIONAL, ENGLISH)
DEFAULT: Final = SIMPLIFIED

METADATA_KEY: Final = "language"
"""Where the gateway puts the conversation's language in the metadata of the message it sends to Rasa
(beside the decision); the Rasa slot `language` is filled from it (actions/language.py)."""

TRADITIONAL_VARIANT: Final = "zh-hant"
"""zhconv's target for Traditional replies: the script only. 'zh-tw' also swaps vocabulary, and on this
product's texts it chose Taiwan words that Hong Kong and Macau readers do not use (互聯網 -> 網際網路,
短信 -> 簡訊, 打印 -> 列印, 鏈接 -> 連結); 'zh-hk' writes 説 and 裏, Hong Kong forms only. 'zh-hant' keeps
the words but writes a few old character forms that neither Taiwan nor Hong Kong print uses today
(爲 衆 羣 僞) and mixes 裡/裏 and 着/著 in one text: `VARIANT_FORMS` replaces those."""

VARIANT_FORMS: Final = str.maketrans({"爲": "為", "衆": "眾", "羣": "群", "僞": "偽", "裏": "裡", "着": "著"})
"""zh-hant's old or mixed forms -> the forms of everyday Traditional print (one per character)."""

LABELS: Final = {SIMPLIFIED: "简体", TRADITIONAL: "繁體", ENGLISH: "English"}
"""How the console shows a conversation's language to staff."""

CANTONESE: Final = frozenset("嘅咗冇唔啲嘢佢哋睇咁乜嚟喺畀俾嗰囉噉咩嘞咪啱嗮晒揾搵諗諗冚攞嘥")
"""Characters of written Cantonese (count half towards Traditional)."""

_NEUTRAL = """ok okay okk okkk k kk yes yeah yep no nope hi hello hey hiya bye byebye thx ty pls plz
    wifi wi fi app apps qq vip id pdf doc ppt usb tv pc ps sos ai ip pm am hr it ceo gps sim atm
    haha hahaha hah hh hhh hhhh lol lmao emm emmm em um umm hmm hmmm ah oh ooh wow omg xd
    www com cn net org http https"""
NEUTRAL_WORDS: Final = frozenset(_NEUTRAL.split())
"""Latin words Chinese writers use too: on their own they do not make a message English."""

_PINYIN_TEXT = """a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen
    ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong
    cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui
    dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua
    guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji
    jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua
    kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou
    lu luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan
    nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo nv nve o ou pa pai pan pang
    pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que
    qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan
    shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun
    suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng
    wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you
    yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou
    zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo"""
_PINYIN: Final = frozenset(_PINYIN_TEXT.split())

_URL_OR_EMAIL = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def is_han(ch: str) -> bool:
    """A CJK ideograph (the unified blocks and their extensions, plus compatibility ideographs)."""
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x3134F
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


SHARED_WITH_SIMPLIFIED: Final = frozenset("乾徵瞭夥麽覆著藉甦鍾餘")
"""Characters zhconv turns into Simplified on their own that Simplified text still writes in some
words (乾隆, 文徵明, 瞭望, 甚夥, 覆盖, 著名, 藉口, 甦醒, 鍾 as a surname, 餘 where 余 is ambiguous)."""

NAMES_ONLY_IN_TRADITIONAL: Final = frozenset("坏灯联种农胆汤鹰岭广")
"""Simplified characters zhconv's tables keep as they are in a Traditional phrase or two, but only in
names or obscure words (王添灯, 种丹妮, 毛坏): in a message they are Simplified."""


@functools.lru_cache(maxsize=1)
def _markers() -> tuple[frozenset[str], frozenset[str]]:
    """(Traditional markers, Simplified markers) from zhconv's own tables (see the module docstring).

    A Traditional marker: a character zhconv's zh2Hans table converts on its own, unless Simplified
    writes it too (`SHARED_WITH_SIMPLIFIED`). A Simplified marker: a character the zh2Hant table
    converts on its own and that no Traditional phrase of the table keeps as it is (后 in 皇后, 里
    in 公里, 干 in 干戈: valid in both scripts), names aside (`NAMES_ONLY_IN_TRADITIONAL`).
    """
    from zhconv import zhconv as tables

    if tables.zhcdicts is None:
        tables.loaddict()
    dicts = tables.zhcdicts

    def changed(table: str) -> set[str]:
        return {k for k, v in dicts[table].items() if len(k) == 1 and v != k and is_han(k)}

    kept_in_traditional: set[str] = set()
    for value in dicts["zh2Hant"].values():
        kept_in_traditional.update(value)
    traditional = changed("zh2Hans") - SHARED_WITH_SIMPLIFIED - CANTONESE
    simplified = changed("zh2Hant") - (kept_in_traditional - NAMES_ONLY_IN_TRADITIONAL)
    return frozenset(traditional), frozenset(simplified)


def script_scores(text: str) -> tuple[float, float]:
    """(Traditional weight, Simplified weight) of the Han characters of `text`."""
    traditional, simplified = _markers()
    trad = simp = 0.0
    for ch in text:
        if ch in traditional:
            trad += 1.0
        elif ch in simplified:
            simp += 1.0
        elif ch in CANTONESE:
            trad += 0.5
    return trad, simp


def _is_pinyin(word: str) -> bool:
    """Can the word be cut into pinyin syllables ("chaoyang", "jianguo", "xiexie")?"""
    word = word.lower()
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        reachable[end] = any(reachable[start] and word[start:end] in _PINYIN for start in range(max(0, end - 6), end))
    return reachable[-1]


def _english(text: str) -> bool:
    """Latin words dominate (there is no Han character: the caller checked)."""
    words = [w.lower() for w in _LATIN_WORD.findall(_URL_OR_EMAIL.sub(" ", text))]
    content = [w for w in words if w not in NEUTRAL_WORDS]
    if not content or len(words) < 2:
        return False  # one word ("hello", "WiFi", "ok") or only words Chinese writers use as well
    if len(content) < 2 and len(words) < 3:
        return False  # "yes please", "ok thanks": too little to switch a conversation
    if all(_is_pinyin(w) for w in content):
        return False  # "Chaoyang Lu", "wo xiang wen": Chinese written in Latin letters
    letters = sum(len(w) for w in words)
    others = sum(1 for ch in text if unicodedata.category(ch)[0] in ("L", "N")) - letters
    return letters > others  # more Latin letters than digits and other letters


def detect(text: str | None) -> str | None:
    """The language of one message: "zh-Hans", "zh-Hant", "en", or None when it is not decisive."""
    if not text or text.lstrip().startswith("/"):
        return None  # a button's payload ("/affirm{...}") says nothing about the person's language
    text = unicodedata.normalize("NFKC", text)
    if any(is_han(ch) for ch in text):
        trad, simp = script_scores(text)
        if trad > simp and trad >= 1:
            return TRADITIONAL
        if simp > trad:
            return SIMPLIFIED
        return None  # Chinese, but nothing tells the script ("你好", "好的", "冇")
    return ENGLISH if _english(text) else None


def conversation_language(previous: str | None, text: str | None) -> str:
    """The conversation's language after this message: a decisive message sets it, others keep it.

    Chinese without script markers ("你好") after English switches to Simplified (the default
    script); after Traditional it stays Traditional.
    """
    before = previous if previous in LANGUAGES else DEFAULT
    found = detect(text)
    if found is not None:
        return found
    if before == ENGLISH and text and any(is_han(ch) for ch in text):
        return SIMPLIFIED
    return before


def normalise_language(value: object) -> str:
    """A stored or received language value as one of LANGUAGES (anything else: the default)."""
    return value if isinstance(value, str) and value in LANGUAGES else DEFAULT


def is_english(language: str | None) -> bool:
    return language == ENGLISH


def slot_value(language: str | None) -> str:
    """The Rasa `language` slot's value: "en" or "zh" (responses are written, not converted)."""
    return "en" if language == ENGLISH else "zh"


def to_traditional(text: str) -> str:
    """Simplified -> Traditional (the script only; see TRADITIONAL_VARIANT). Other scripts are untouched."""
    return zhconv.convert(text, TRADITIONAL_VARIANT).translate(VARIANT_FORMS) if text else text


def for_reader(text: str, language: str | None) -> str:
    """The text as a reader of `language` gets it: converted to Traditional for zh-Hant, else as written."""
    return to_traditional(text) if language == TRADITIONAL else text


def label(language: str | None) -> str:
    """The console's short label of a language ("English", "繁體", "简体")."""
    return LABELS.get(normalise_language(language), LABELS[DEFAULT])
