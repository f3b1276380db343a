"""Each signal of the safety screen on its own: lexicon, learned evidence, history, long messages.

The screen's rules are tested with evidence we set by hand (fast, exact); the learned evidence
itself is tested with the real model in test_triage_engine.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot.triage.lexicon import SafetyLexicon
from bot.triage.safety import Evidence, HistoryEvidence, SafetyModel, SafetyScreen
from bot.triage.tuning import DEFAULT_TUNING
from bot.triage.vocabulary import Route

T = DEFAULT_TUNING


@pytest.fixture
def screen() -> SafetyScreen:
    lexicon = SafetyLexicon.from_terms(["不想活"], [], {"119": (["着火了"], []), "122": (["撞车了"], [])})
    model = SafetyModel(T)
    model.classes_ = ["110", "119", "120", "122", "crisis", "ordinary"]
    return SafetyScreen(lexicon, model, T)


def quiet(**emergency: float) -> Evidence:
    return Evidence(0.0, {"110": 0.0, "119": 0.0, "120": 0.0, "122": 0.0, **emergency})


def test_lexicon_hit_is_decisive(screen: SafetyScreen) -> None:
    result = screen.screen("我不想活了", quiet())
    assert result.route is Route.CRISIS and result.channel == "12356" and result.score == 1.0
    assert result.signals == ("lexicon:不想活",)


def test_learned_evidence_above_threshold_is_a_crisis(screen: SafetyScreen) -> None:
    above = Evidence(T.crisis_threshold + 0.01, quiet().emergency)
    below = Evidence(T.crisis_threshold - 0.01, quiet().emergency)
    result = screen.screen("已经在天台上了，风好大", above)
    assert result.route is Route.CRISIS and result.signals == (f"embedding:{above.crisis:.2f}",)
    assert screen.screen("已经在天台上了，风好大", below).route is None


def test_history_lowers_the_threshold(screen: SafetyScreen) -> None:
    between = Evidence((T.crisis_threshold + T.crisis_threshold_after_history) / 2, quiet().emergency)
    assert screen.screen("我已经说过了", between).route is None
    history = HistoryEvidence(True, ("history:lexicon:不想活",))
    result = screen.screen("我已经说过了", between, history)
    assert result.route is Route.CRISIS
    assert "history" in result.signals and "history:lexicon:不想活" in result.signals


def test_context_of_the_conversation_can_make_a_crisis(screen: SafetyScreen) -> None:
    context = Evidence(T.crisis_threshold + 0.05, {})
    result = screen.screen("真的撑不下去了", quiet(), HistoryEvidence(False), context)
    assert result.route is Route.CRISIS and any(s.startswith("context:") for s in result.signals)


def test_history_evidence_reads_lexicon_and_scores(screen: SafetyScreen) -> None:
    evidence = screen.history_evidence(
        ["你好", "我不想活了", "还在吗"], [quiet(), quiet(), Evidence(T.ambiguous_below + 0.02, {})]
    )
    assert evidence.crisis_signal
    assert evidence.signals[0] == "history:lexicon:不想活" and evidence.signals[1].startswith("history:embedding:")
    assert not screen.history_evidence(["你好"], [quiet()]).crisis_signal


def test_an_ambiguous_learned_score_is_no_crisis_signal_for_the_messages_after_it(screen: SafetyScreen) -> None:
    """Over the crisis bar but under `ambiguous_below` the gateway asks the check-in question: its answer,
    not the earlier score, decides (a form's answers after "好累啊…同学也都不理我" are not crises)."""
    ambiguous = Evidence((T.crisis_threshold + T.ambiguous_below) / 2, {})
    assert T.crisis_threshold < ambiguous.crisis < T.ambiguous_below
    assert not screen.history_evidence(["好累啊，感觉自己什么都做不好"], [ambiguous]).crisis_signal


def test_a_learned_verdict_whose_words_the_ngram_model_doubts_is_marked(screen: SafetyScreen) -> None:
    """Over the bar on the learned score, but no word close to a crisis example: the verdict stands with
    the doubt named (the gateway asks first); crisis words are never doubted, and without an n-gram
    opinion nothing is marked."""
    doubted = Evidence(0.9, quiet().emergency, ngram=T.ngram_doubt_below - 0.01)
    shared = Evidence(0.9, quiet().emergency, ngram=T.ngram_doubt_below + 0.01)
    result = screen.screen("宿舍闹鬼 吓得一个礼拜没睡好", doubted)
    assert result.route is Route.CRISIS
    assert result.signals == ("embedding:0.90", f"ngram-doubt:{doubted.ngram:.2f}")
    assert screen.screen("宿舍闹鬼 吓得一个礼拜没睡好", shared).signals == ("embedding:0.90",)
    assert screen.screen("宿舍闹鬼", Evidence(0.9, quiet().emergency)).signals == ("embedding:0.90",)
    words = screen.screen("我不想活了", doubted)
    assert not any(s.startswith("ngram-doubt:") for s in words.signals)


def test_a_doubted_learned_score_is_no_crisis_signal_for_the_messages_after_it(screen: SafetyScreen) -> None:
    doubted = Evidence(T.ambiguous_below + 0.2, {}, ngram=T.ngram_doubt_below / 2)
    assert not screen.history_evidence(["我要办死亡证明 不是我死哈"], [doubted]).crisis_signal
    shared = dataclasses.replace(doubted, ngram=T.ngram_doubt_below * 2)
    assert screen.history_evidence(["我要办死亡证明 不是我死哈"], [shared]).crisis_signal


def test_the_ngram_opinion_is_fitted_on_the_same_examples() -> None:
    """It says crisis for wording close to a crisis example and not for the ordinary ones; a model
    fitted without texts has no opinion (older callers, and the doubt is never raised)."""
    crisis = ["我不想活了", "活着好累不想活了", "想从楼上跳下去", "药都攒好了今晚就吃", "遗书写好了放在抽屉里"]
    ordinary = ["路灯坏了", "楼上装修太吵", "工资拖欠三个月", "公交车太挤", "怎么办理居住证", "小区停车乱收费"]
    texts = crisis + ordinary
    labels = ["crisis"] * len(crisis) + ["ordinary"] * len(ordinary)
    embeddings = np.eye(len(texts), dtype=np.float32)
    model = SafetyModel(T).fit(embeddings, labels, texts=texts)
    got = model.ngram_crisis(["我真的不想活了", "楼下路灯坏了"])
    assert got is not None and got[0] > 0.5 > got[1]
    assert SafetyModel(T).fit(embeddings, labels).ngram_crisis(["我不想活了"]) is None


def test_history_evidence_skips_a_message_the_screen_set_aside_as_a_lookalike(screen: SafetyScreen) -> None:
    """ "气死我了" in a complaint scored over the bar but was a look-alike, so no crisis then: no evidence later."""
    lookalike = Evidence(T.ambiguous_below + 0.05, {}, lookalike_margin=T.lookalike_margin + 0.01)
    assert not screen.history_evidence(["物业又乱收费 气死我了"], [lookalike]).crisis_signal
    near = Evidence(T.ambiguous_below + 0.05, {}, lookalike_margin=T.lookalike_margin - 0.01)
    assert screen.history_evidence(["我真的撑不住了"], [near]).crisis_signal


def test_crisis_beats_emergency(screen: SafetyScreen) -> None:
    assert screen.screen("厨房着火了，我不想活了", quiet(**{"119": 0.9})).route is Route.CRISIS


def test_emergency_by_lexicon_and_by_evidence(screen: SafetyScreen) -> None:
    by_word = screen.screen("厨房着火了", quiet())
    assert (by_word.route, by_word.channel, by_word.signals[0]) == (Route.EMERGENCY, "119", "lexicon:着火了")
    by_model = screen.screen("有个人倒在地上不动了", quiet(**{"120": T.emergency_threshold + 0.01}))
    assert (by_model.route, by_model.channel) == (Route.EMERGENCY, "120")
    assert screen.screen("有个人倒在地上不动了", quiet(**{"120": T.emergency_threshold - 0.01})).route is None


def test_a_long_written_account_needs_support_for_an_emergency_word(screen: SafetyScreen) -> None:
    long_text = "去年我们小区门口撞车了，" + "之后一直没有人来处理路口的问题，" * 20
    assert len(long_text) > T.emergency_long_chars
    assert screen.screen(long_text, quiet()).route is None
    supported = screen.screen(long_text, quiet(**{"122": T.emergency_long_support}))
    assert supported.route is Route.EMERGENCY and supported.channel == "122"
    assert screen.screen("路口撞车了", quiet()).route is Route.EMERGENCY  # short: the word decides


def test_evidence_averages_the_two_opinions(screen: SafetyScreen) -> None:
    safety_row = np.array([0.0, 0.0, 0.0, 0.0, 0.8, 0.2])
    classes = ["ticket:a", "crisis", "emergency:119"]
    ev = screen.evidence(safety_row, classes, np.array([0.5, 0.25, 0.25]))
    assert ev.crisis == pytest.approx((0.8 + 0.5) / 2)  # 0.25 / best 0.5
    assert ev.emergency["119"] == pytest.approx((0.0 + 0.5) / 2)
    assert ev.emergency["110"] == 0.0


def test_thresholds_come_from_tuning(screen: SafetyScreen) -> None:
    strict = SafetyScreen(screen.lexicon, screen.model, dataclasses.replace(T, crisis_threshold=0.99))
    ev = Evidence(0.9, quiet().emergency)
    assert screen.screen("x", ev).route is Route.CRISIS and strict.screen("x", ev).route is None


def test_a_score_just_under_the_crisis_bar_carries_a_check_in_signal(screen: SafetyScreen) -> None:
    between = Evidence((T.check_in_threshold + T.crisis_threshold) / 2, quiet().emergency)
    result = screen.screen("最近什么都不想做", between)
    assert result.route is None and result.signals == (f"check-in:{between.crisis:.2f}",)
    below = Evidence(T.check_in_threshold - 0.01, quiet().emergency)
    assert screen.screen("最近什么都不想做", below).signals == ()
    # a look-alike of a known everyday sentence gets no check-in either
    lookalike = Evidence(between.crisis, quiet().emergency, lookalike_margin=T.lookalike_margin + 0.01)
    assert not any(s.startswith("check-in") for s in screen.screen("笑死我了", lookalike).signals)


def test_a_message_too_short_to_go_on_gets_no_check_in(screen: SafetyScreen) -> None:
    between = Evidence((T.check_in_threshold + T.crisis_threshold) / 2, quiet().emergency)
    assert screen.screen("在不在", between).signals == ()  # 3 characters: nothing to ask about
    assert screen.screen("在 不 在 ?", between).signals != ()  # spaces do not count, the "?" does


def test_the_check_in_bar_is_below_the_crisis_bar() -> None:
    assert 0 < T.check_in_threshold < T.crisis_threshold_after_history < T.crisis_threshold


def test_a_short_message_inside_a_conversation_is_read_with_it(screen: SafetyScreen) -> None:
    """ "今天早上就没了" answering "since when?" in a report of a missing manhole cover: alone it reads
    like a farewell (high learned score); read with the conversation it is ordinary. No crisis, and no
    check-in either. Crisis words still flag it, and a long message keeps its own score."""
    alone = Evidence(0.9, quiet().emergency)
    calm_conversation = Evidence(T.check_in_threshold - 0.05, quiet().emergency)
    result = screen.screen("今天早上就没了", alone, context=calm_conversation)
    assert result.route is None and not any(s.startswith("check-in:") for s in result.signals)
    assert screen.screen("今天早上就没了", alone).route is Route.CRISIS  # no conversation around it
    assert screen.screen("不想活了", alone, context=calm_conversation).route is Route.CRISIS  # a crisis word
    long = "今天早上就没了，我也撑不下去了，对不起大家，这段时间真的太累了，谢谢你们一直以来的照顾" * 2  # > 60 units
    assert screen.screen(long, alone, context=calm_conversation).route is Route.CRISIS
    worried = Evidence(T.crisis_threshold + 0.01, quiet().emergency)
    assert screen.screen("今天早上就没了", alone, context=worried).route is Route.CRISIS  # the conversation agrees


@pytest.mark.parametrize(
    "text",
    [
        "楼上天天蹦迪 吵死了 我真的要气死了 脑子要炸了",
        "wy太坑了 楼上渗水一个多月 我真的气炸了",
        "氣死我！健身房執咗笠",
        "阿媽收埋我部手機，激死我，嬲到想爆炸",  # Cantonese anger (fresh conversation round 9)
    ],
)
def test_an_everyday_exaggeration_is_not_a_crisis_on_the_learned_score_below_the_bar(
    screen: SafetyScreen, text: str
) -> None:
    from bot.text import normalise

    norm = normalise(text)
    below = screen.screen(norm, Evidence(T.hyperbole_bar - 0.2, {}))
    assert below.route is None and any(s.startswith("hyperbole:") for s in below.signals)
    assert screen.screen(norm, Evidence(T.hyperbole_bar + 0.05, {})).route is Route.CRISIS


def test_an_exaggeration_beside_a_crisis_word_or_after_crisis_talk_is_still_a_crisis(screen: SafetyScreen) -> None:
    assert screen.screen("烦死了 真的不想活了", quiet()).route is Route.CRISIS
    after = HistoryEvidence(True, ("history:lexicon:不想活",))
    assert screen.screen("累死了", Evidence(T.crisis_threshold + 0.1, {}), after).route is Route.CRISIS


def test_an_earlier_exaggeration_below_the_bar_is_no_crisis_history(screen: SafetyScreen) -> None:
    """ "气炸了我…差点摔死" was waived as an exaggeration; the next answer must not be read after crisis talk."""
    from bot.text import normalise

    waived = Evidence(T.hyperbole_bar - 0.2, {})
    assert not screen.history_evidence([normalise("气炸了我 井盖松了 我今天送外卖差点摔死")], [waived]).crisis_signal


@pytest.mark.parametrize(
    "text",
    [
        "my friend just sent me a message saying 'thank you for everything, sorry for being a burden'",
        "she's been cutting herself for a while",
        "my friend said she wants to die",
    ],
)
def test_english_crisis_about_a_friend_is_a_crisis_word(text: str) -> None:
    from bot.text import normalise

    assert SafetyLexicon.load().match_crisis(normalise(text)) is not None


@pytest.mark.parametrize("text", ["thank you for everything, the staff were great", "我没有想不开 就是想有人说说话"])
def test_thanks_and_reassurance_are_no_crisis_word(text: str) -> None:
    from bot.text import normalise

    assert SafetyLexicon.load().match_crisis(normalise(text)) is None
