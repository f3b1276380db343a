"""A jieba tokenizer that reads the normalised text and never emits whitespace tokens.

Two problems of Rasa's stock `JiebaTokenizer` are fixed here:

- it keeps whitespace tokens, so mixed Chinese/English text ("帮我check一下 工单") can crash
  DIET with a dimension mismatch (rasa issue 7910, fix never merged);
- it reads the raw text, so a Traditional-Chinese message ("我們小區的路燈壞了") gets features
  the Simplified training data never produced.

Tokens carry the normalised word (`bot.text.normalise` semantics: NFKC, Simplified, lower-case)
as their text, but their `start`/`end` offsets point into the *original* message, so entity
spans annotated on (or extracted from) the original text stay valid.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import zhconv
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


def _normalise_char(ch: str) -> str:
    """NFKC + lower-case of one character, or the character itself when that would change the length."""
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) != 1:  # e.g. "㈱" -> "(株)", "ﬁ" -> "fi": keep, offsets matter more
        folded = ch
    lowered = folded.lower()
    return lowered if len(lowered) == 1 else folded  # "İ".lower() has two code points


def aligned_normalise(text: str) -> str:
    """Normalise like `bot.text.normalise`, but return a string of exactly `len(text)` characters.

    Character i of the result is the normalised form of character i of `text`, so offsets found
    in the result are offsets in `text`. Whitespace and control characters are kept in place
    (the tokenizer drops them later) instead of being collapsed or stripped.

    Traditional -> Simplified is done on the whole string first, because zhconv's phrase table
    gets context right (著急 -> 着急, 頭髮 -> 头发). About 150 of its phrases change length
    (公尺 -> 米, 伏地挺身 -> 俯卧撑); when the whole-string conversion changes the length we fall
    back to per-character conversion, which always keeps it.
    """
    if not text:
        return ""
    folded = "".join(_normalise_char(ch) for ch in text)
    simplified = zhconv.convert(folded, "zh-cn")
    if len(simplified) == len(folded):
        return simplified
    per_char = []
    for ch in folded:
        converted = zhconv.convert(ch, "zh-cn")
        per_char.append(converted if len(converted) == 1 else ch)
    return "".join(per_char)


def _is_blank(word: str) -> bool:
    """True for tokens made only of whitespace, control or format characters (zero-width space...)."""
    return all(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in word)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class FrontDoorJiebaTokenizer(JiebaTokenizer):
    """Jieba on the normalised text; no whitespace tokens; offsets on the original text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same options as `JiebaTokenizer` (custom dictionary folder, token pattern...)."""
        return JiebaTokenizer.get_default_config()

    @staticmethod
    def supported_languages() -> list[str] | None:
        """Chinese, possibly mixed with English and emoji."""
        return ["zh"]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenizes the text of `attribute`; token texts are normalised, offsets are original."""
        import jieba  # imported here like the parent class does: it is slow to import

        text = message.get(attribute) or ""
        normalised = aligned_normalise(text)
        tokens = [Token(word, start, end) for word, start, end in jieba.tokenize(normalised) if not _is_blank(word)]
        return self._apply_token_pattern(tokens)
