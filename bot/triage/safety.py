"""The safety screen: is a life or a person's safety at risk, or is this a 110/119/120/122 call?

Checked before anything else, on every message. Three kinds of evidence, each named in `signals`
so staff can see why a message was flagged:

* the lexicon (`lexicon.SafetyLexicon`): words and evasion patterns staff wrote; a hit is decisive;
* two learned opinions on frozen e5 embeddings, averaged into one score per label (crisis, 110,
  119, 120, 122): a dedicated safety model (crisis and emergency examples against the hard negatives
  and every ordinary catalogue example), and the desk classifier, where the crisis and emergency
  examples compete with the desk's own entries (is "I can't sleep before exams" counselling or
  crisis?), read as the label's probability relative to the best label. Either alone flags study
  stress or "ok thx bye"; together they separate distress from ordinary requests much better. They
  catch what no word list lists ("已经在天台上了，风好大"); thresholds were set on development data
  (SOS-1K train, unlabeled gov messages, routes_dev), see `tuning.py`;
* a second opinion in words: a character n-gram model fitted on the same examples. A crisis verdict of
  the learned score alone whose words it does not find close to any crisis example is marked
  ambiguous (`NGRAM_DOUBT_SIGNAL`): the gateway asks the check-in question before the crisis answer;
* the conversation so far: a crisis signal in one of the last few user messages lowers the
  threshold for the next ones, and the last messages are also read together, because "我已经说过了"
  or "真的撑不下去了" only means something after what came before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bot.text import length_units
from bot.triage.catalogue import Catalogue
from bot.triage.decision import CHECK_IN_SIGNAL, NGRAM_DOUBT_SIGNAL
from bot.triage.lexicon import LexiconHit, SafetyLexicon
from bot.triage.tuning import Tuning
from bot.triage.vocabulary import CRISIS_CHANNEL, EMERGENCY_CHANNELS, Route

CRISIS = "crisis"
ORDINARY = "ordinary"

HYPERBOLE = re.compile(
    r"(气|吵|烦|急|累|热|冷|饿|笑|困|忙|臭|闷|冻|吓|愁|挤|晒|疼|痛)(得|的)?(我|人)?(要|快)?死(了|啦|咯|啰|我|人|啊|呀|掉)?"
    r"|气炸|(要|快|都)?(炸了|爆炸了|疯了|崩溃了)|(脑子|头|肺|心态)(都)?(要|快)?炸"
    r"|激死|嬲死|(嬲|激|气|烦|谂)(到|得)(我)?(想|要|快)?(爆炸|炸|癫|发癫|疯)|(打|玩|搞)(机)?(到|得)(癫|疯)"
)
"""Everyday exaggerations in complaints (on the normalised text): "吵死了", "气炸了", "脑子要炸了", and
Cantonese "激死我", "嬲到想爆炸", "打机打到癫"."""


@dataclass(frozen=True)
class SafetyResult:
    """What the screen found.

    Attributes:
        route: Route.CRISIS, Route.EMERGENCY or None (nothing found).
        channel: 12356 for crisis, 110/119/120/122 for emergency, else None.
        score: the deciding evidence's strength, 0..1 (1.0 for a lexicon hit).
        signals: why, e.g. "lexicon:不想活", "pattern:想\\s*si", "embedding:0.83", "history".
        reply: the text to send (filled in by the engine; None when route is None).
    """

    route: Route | None
    channel: str | None = None
    score: float = 0.0
    signals: tuple[str, ...] = ()
    reply: str | None = None
    crisis_score: float = 0.0
    emergency_scores: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """True for crisis or emergency."""
        return self.route is not None


@dataclass(frozen=True)
class Evidence:
    """The learned models' scores (0..1) for one text: crisis, and each emergency channel."""

    crisis: float
    emergency: dict[str, float] = field(default_factory=dict)
    lookalike_margin: float = -1.0
    """How much closer the text is to a negative of the safety file than to any positive example."""
    ngram: float | None = None
    """The n-gram model's crisis probability (None when the model has none)."""

    def doubted(self, tuning: Tuning) -> bool:
        """Do the words themselves stay far from every crisis example (`Tuning.ngram_doubt_below`)?"""
        return self.ngram is not None and self.ngram < tuning.ngram_doubt_below

    @property
    def top(self) -> float:
        """The strongest of them (reported as the score of an unflagged message)."""
        return max([self.crisis, *self.emergency.values()])


@dataclass(frozen=True)
class HistoryEvidence:
    """Crisis evidence in the previous user messages of the conversation."""

    crisis_signal: bool
    signals: tuple[str, ...] = ()
    context_score: float = 0.0


class SafetyModel:
    """Multinomial LR on embeddings: crisis / 110 / 119 / 120 / 122 / ordinary."""

    def __init__(self, tuning: Tuning) -> None:
        self.tuning = tuning
        self.classes_: list[str] = []
        self._model: Any = None
        self._lookalikes: np.ndarray | None = None
        self._positives: np.ndarray | None = None
        self._ngram_vectorizer: Any = None
        self._ngram_model: Any = None

    @staticmethod
    def training_texts(catalogue: Catalogue) -> tuple[list[str], list[str]]:
        """(texts, labels): safety examples as positives; negatives and every ordinary example as ordinary.

        The ordinary examples matter most: they teach the model what a complaint about a noisy
        neighbour or a study-stress counselling request looks like, so it does not flag them.
        """
        s = catalogue.safety
        texts: list[str] = list(s.crisis_examples)
        labels: list[str] = [CRISIS] * len(s.crisis_examples)
        for channel, section in s.emergency.items():
            texts += section.examples
            labels += [channel] * len(section.examples)
        ordinary: list[str] = [*s.crisis_negatives, *s.emergency_negatives]
        for desk in catalogue.desks.values():
            for examples in (
                *(c.examples for c in desk.categories),
                *(r.examples for r in desk.referrals),
                *(x.examples for x in desk.declines),
                *(f.examples for f in desk.faqs),
            ):
                ordinary += examples
        ordinary += [*catalogue.conversation.smalltalk, *catalogue.conversation.clarify]
        texts += ordinary
        labels += [ORDINARY] * len(ordinary)
        return texts, labels

    def fit(
        self,
        embeddings: np.ndarray,
        labels: Sequence[str],
        lookalikes: np.ndarray | None = None,
        texts: Sequence[str] | None = None,
    ) -> SafetyModel:
        """Fit on (embeddings, labels); `lookalikes` are the embeddings of the safety file's negatives;
        `texts` (the same examples, prepared as the engine prepares messages) fit the n-gram opinion.

        The model is deliberately smooth (it must generalise from ~200 crisis sentences to posts it
        has never seen), so it does not fit every negative: `lookalike_similarity` lets a message
        that is almost one of the negatives staff wrote be set aside explicitly.
        """
        from sklearn.linear_model import LogisticRegression

        self._lookalikes = np.asarray(lookalikes, dtype=np.float32) if lookalikes is not None else None
        self._positives = np.asarray(embeddings[np.asarray(labels) != ORDINARY], dtype=np.float32)

        self._model = LogisticRegression(C=self.tuning.safety_c, max_iter=3000, class_weight="balanced").fit(
            embeddings, list(labels)
        )
        self.classes_ = [str(c) for c in self._model.classes_]
        if texts is not None:
            self._fit_ngrams(texts, labels)
        return self

    def _fit_ngrams(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        """Crisis against everything else on the desk classifier's character n-grams."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels):
            raise ValueError("texts and labels must have the same length")
        view = self.tuning.classifier
        self._ngram_vectorizer = TfidfVectorizer(
            analyzer=view.analyzer, ngram_range=view.ngram_range, sublinear_tf=True
        )
        features = self._ngram_vectorizer.fit_transform(list(texts))
        self._ngram_model = LogisticRegression(
            C=self.tuning.safety_ngram_c, max_iter=3000, class_weight="balanced"
        ).fit(features, [label == CRISIS for label in labels])

    def ngram_crisis(self, texts: Sequence[str]) -> np.ndarray | None:
        """P(crisis) of each prepared text by the n-gram model (None when it was not fitted)."""
        model, vectorizer = self._ngram_model, self._ngram_vectorizer
        if model is None or vectorizer is None:
            return None
        if not len(texts):
            return np.zeros(0)
        column = list(model.classes_).index(True)
        return np.asarray(model.predict_proba(vectorizer.transform(list(texts)))[:, column])

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, len(classes_)) probabilities."""
        if self._model is None:
            raise RuntimeError("safety model is not fitted")
        if len(embeddings) == 0:
            return np.zeros((0, len(self.classes_)))
        return np.asarray(self._model.predict_proba(embeddings))

    def lookalike_margin(self, embeddings: np.ndarray) -> np.ndarray:
        """Cosine to the nearest negative minus cosine to the nearest crisis/emergency example."""
        lookalikes = getattr(self, "_lookalikes", None)
        positives = getattr(self, "_positives", None)
        if lookalikes is None or positives is None or not len(lookalikes) or not len(embeddings):
            return np.full(len(embeddings), -1.0)
        return (embeddings @ lookalikes.T).max(1) - (embeddings @ positives.T).max(1)

    def crisis_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """P(crisis) for each row."""
        return self.scores(embeddings)[:, self.classes_.index(CRISIS)]


class SafetyScreen:
    """Lexicon + learned evidence + history, with the thresholds of `Tuning`."""

    def __init__(self, lexicon: SafetyLexicon, model: SafetyModel, tuning: Tuning) -> None:
        self.lexicon = lexicon
        self.model = model
        self.tuning = tuning

    def evidence(
        self,
        safety_row: np.ndarray,
        desk_classes: Sequence[str],
        desk_row: np.ndarray,
        lookalike_margin: float = -1.0,
        ngram: float | None = None,
    ) -> Evidence:
        """Average of the safety model's probability and the desk classifier's relative score per label.

        Args:
            safety_row: one row of `SafetyModel.scores`.
            desk_classes: the desk classifier's labels ("crisis", "emergency:119", entries...).
            desk_row: the desk classifier's probabilities for the same text.
            lookalike_margin: `SafetyModel.lookalike_margin` of the text.
            ngram: `SafetyModel.ngram_crisis` of the text, if the model has one.
        """
        probs = dict(zip(self.model.classes_, (float(p) for p in safety_row), strict=True))
        # relative to the best label, but never to a tiny best: a flat distribution (the desk
        # classifier has no idea) must not make a 6% "crisis" look like a strong opinion
        best = max(float(np.max(desk_row)) if len(desk_row) else 0.0, self.tuning.relative_floor)
        index = {label: i for i, label in enumerate(desk_classes)}

        def relative(label: str) -> float:
            i = index.get(label)
            return float(desk_row[i]) / best if (i is not None and best > 0) else 0.0

        crisis = (probs.get(CRISIS, 0.0) + relative("crisis")) / 2
        emergency = {
            ch: (probs.get(ch, 0.0) + relative(f"emergency:{ch}")) / 2 for ch in EMERGENCY_CHANNELS if ch in probs
        }
        return Evidence(crisis, emergency, float(lookalike_margin), ngram)

    def history_evidence(self, history: Sequence[str], evidence: Sequence[Evidence]) -> HistoryEvidence:
        """Crisis signals among the previous messages (normalised): a lexicon hit or a learned score the
        gateway answers with the crisis answer (`ambiguous_below`; under it the check-in decides)."""
        signals: list[str] = []
        for text, ev in zip(history, evidence, strict=True):
            hit = self.lexicon.match_crisis(text)
            if hit is not None:
                signals.append(f"history:{hit.signal}")
            elif (
                ev.crisis >= max(self.tuning.crisis_threshold, self.tuning.ambiguous_below)
                and ev.lookalike_margin < self.tuning.lookalike_margin
                and not (HYPERBOLE.search(text) and ev.crisis < self.tuning.hyperbole_bar)
                and not ev.doubted(self.tuning)
            ):
                # the same verdict the screen gave that message: a look-alike of an ordinary example
                # ("气死我了" in a complaint) was not a crisis then and is no crisis evidence now
                signals.append(f"history:embedding:{ev.crisis:.2f}")
        return HistoryEvidence(bool(signals), tuple(signals))

    def screen(
        self,
        text: str,
        evidence: Evidence,
        history: HistoryEvidence | None = None,
        context: Evidence | None = None,
    ) -> SafetyResult:
        """Decide for one normalised message.

        Args:
            text: the normalised message (the lexicon reads all of it).
            evidence: the learned scores of the message (`evidence()`).
            history: crisis evidence in the previous messages, if any.
            context: the learned scores of the last messages read together with this one.
        """
        t = self.tuning
        hits = self.lexicon.match_all(text)
        signals: list[str] = [h.signal for h in hits if h.kind == "crisis"]
        crisis_lexicon = bool(signals)
        threshold = t.crisis_threshold
        if history is not None and history.crisis_signal:
            threshold = t.crisis_threshold_after_history
            signals += ["history", *history.signals]
        lookalike = evidence.lookalike_margin >= t.lookalike_margin
        score = evidence.crisis
        if context is not None and length_units(text) <= t.short_in_context_units and context.crisis < score:
            # a fragment inside a conversation ("今天早上就没了" answering "since when?"): read with it
            score = context.crisis
            signals.append(f"short-in-context:{evidence.crisis:.2f}->{context.crisis:.2f}")
        crisis_learned = score >= threshold and not lookalike
        hyperbole = HYPERBOLE.search(text)
        exaggerated = hyperbole is not None and not crisis_lexicon and threshold == t.crisis_threshold
        if crisis_learned and exaggerated and score < t.hyperbole_bar and hyperbole is not None:
            # "吵死了…气死了" in a complaint, no crisis word, no earlier crisis talk
            crisis_learned = False
            signals.append(f"hyperbole:{hyperbole.group(0)}")
        if crisis_learned and not crisis_lexicon and any(h.kind == "emergency" for h in hits):
            # "my brother swallowed a bunch of pills, he's sleepy": staff's emergency words are decisive,
            # a learned crisis score alone is not (and under 0.70 the gateway would only ask a question)
            emergency = self._emergency(text, hits, evidence)
            if emergency.route is Route.EMERGENCY:
                return replace(emergency, signals=(*emergency.signals, f"crisis-learned:{score:.2f}"))
        if crisis_lexicon or crisis_learned:
            if crisis_learned:
                signals.append(f"embedding:{score:.2f}")
                if not crisis_lexicon and evidence.doubted(t):
                    # the words share nothing a crisis example says: ask before the crisis answer
                    signals.append(f"{NGRAM_DOUBT_SIGNAL}{evidence.ngram:.2f}")
            score = 1.0 if crisis_lexicon else evidence.crisis
            return SafetyResult(
                Route.CRISIS, CRISIS_CHANNEL, score, tuple(signals), None, evidence.crisis, evidence.emergency
            )
        if lookalike:
            signals.append(f"lookalike:{evidence.lookalike_margin:.2f}")
        if (
            context is not None
            and context.crisis >= max(t.crisis_threshold, t.hyperbole_bar if hyperbole else 0.0)
            and not lookalike
        ):
            signals += ["history", f"context:{context.crisis:.2f}"]
            return SafetyResult(
                Route.CRISIS, CRISIS_CHANNEL, context.crisis, tuple(signals), None, evidence.crisis, evidence.emergency
            )
        result = self._emergency(text, hits, evidence)
        wordy = len(text.replace(" ", "")) >= t.check_in_min_chars
        if result.route is None and not lookalike and wordy and score >= t.check_in_threshold:
            # not a crisis, but close: the gateway adds a gentle check-in with 12356 to the answer
            waived = tuple(s for s in signals if s.startswith("hyperbole:"))
            return replace(result, signals=(*result.signals, *waived, f"{CHECK_IN_SIGNAL}:{score:.2f}"))
        return result

    def _emergency(self, text: str, hits: Sequence[LexiconHit], evidence: Evidence) -> SafetyResult:
        """110/119/120/122. A long written message that names a past fire or accident is a complaint,
        not a call for help: there a lexicon hit needs some support from the learned scores."""
        t = self.tuning
        long_text = len(text) > t.emergency_long_chars
        for hit in hits:
            if hit.kind != "emergency":
                continue
            p = evidence.emergency.get(hit.channel, 0.0)
            if long_text and p < t.emergency_long_support:
                continue
            sig = (*(h.signal for h in hits if h.channel == hit.channel), f"embedding:{p:.2f}")
            return SafetyResult(Route.EMERGENCY, hit.channel, 1.0, sig, None, evidence.crisis, evidence.emergency)
        if evidence.emergency and evidence.lookalike_margin < t.lookalike_margin:
            channel, p = max(evidence.emergency.items(), key=lambda kv: kv[1])
            if p >= t.emergency_threshold:
                return SafetyResult(
                    Route.EMERGENCY, channel, p, (f"embedding:{p:.2f}",), None, evidence.crisis, evidence.emergency
                )
        return SafetyResult(None, None, evidence.top, (), None, evidence.crisis, evidence.emergency)
