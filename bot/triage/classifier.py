"""The learned part of triage: which catalogue entry a message belongs to, and how sure we are.

Two views of a message are combined because they fail differently:

* logistic regression on frozen multilingual-e5 embeddings understands paraphrases, Traditional
  Chinese and English, but blurs close topics (e5 cosines sit in a narrow band);
* logistic regression on character n-gram TF-IDF sees the exact words ("公积金", "噪音") that
  decide many dispatch categories, but knows no synonyms.

Their probabilities are averaged (weight `tfidf_weight` on the n-gram model). The maximum averaged
probability is the confidence; the caller rejects (asks to clarify, or says "out of scope") below a
threshold tuned on development data. The same class serves the desks and the CLINC150 benchmark, so
the benchmark measures the code the bot runs.

Out of scope is decided by `ScopeGate`: the maximum probability alone is over-confident on unseen
text, so the gate can add how close the message is to the training examples of the class it was
given to (mean cosine of the k nearest): a message far from every example of its predicted class
is suspicious even when the probabilities are peaked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ClassifierConfig:
    """Hyper-parameters; the defaults are the ones chosen on development data (see benchmarks/)."""

    c_embedding: float = 30.0
    """Inverse regularisation of the embedding model (CLINC150 val and routes_dev both liked 10-30)."""
    c_tfidf: float = 10.0
    tfidf_weight: float = 0.3
    """Share of the n-gram model in the averaged probabilities (0 disables it)."""
    analyzer: str = "char_wb"
    ngram_range: tuple[int, int] = (1, 3)
    word_ngrams: tuple[int, int] | None = None
    """Also word n-grams (useful for English; Chinese has no spaces, char n-grams cover it)."""
    min_df: int = 1
    class_weight: str | None = "balanced"
    """Catalogue entries have 8 to 100 examples; balancing keeps small entries reachable."""
    max_iter: int = 3000
    tfidf_solver: str = "newton-cg"
    """The n-gram model has ~100k features x 80 labels on 12345. L-BFGS spent ~30 s there on 2 cores
    and stopped short of the optimum; Newton-CG reaches a lower loss in 7-8 iterations and ~11 s,
    for any C. (SAG was faster at C=10 but ran into max_iter for 5 minutes at C=3: a refit after a
    staff edit must not depend on luck.) Measured in the session note of 2026-12-06."""


@dataclass
class EntryClassifier:
    """Embedding LR + n-gram TF-IDF LR over a fixed set of labels."""

    config: ClassifierConfig = field(default_factory=ClassifierConfig)
    classes_: list[str] = field(default_factory=list)
    _embedding_model: Any = None
    _tfidf_model: Any = None
    _vectorizers: list[Any] = field(default_factory=list)
    _examples: dict[str, np.ndarray] = field(default_factory=dict)

    def fit(self, texts: Sequence[str], embeddings: np.ndarray, labels: Sequence[str]) -> EntryClassifier:
        """Fit both views on the same examples (texts normalised, embeddings L2-normalised)."""
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two labels")
        cfg = self.config
        self._embedding_model = LogisticRegression(
            C=cfg.c_embedding, max_iter=cfg.max_iter, class_weight=cfg.class_weight
        ).fit(embeddings, list(labels))
        self.classes_ = [str(c) for c in self._embedding_model.classes_]
        label_array = np.asarray(labels)
        self._examples = {c: np.asarray(embeddings[label_array == c], dtype=np.float32) for c in self.classes_}
        if cfg.tfidf_weight > 0:
            features = self._fit_vectorizers(texts)
            self._tfidf_model = LogisticRegression(
                C=cfg.c_tfidf,
                max_iter=cfg.max_iter,
                class_weight=cfg.class_weight,
                solver=cfg.tfidf_solver,
            ).fit(features, list(labels))
        return self

    def _fit_vectorizers(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        cfg = self.config
        vectorizers = [
            TfidfVectorizer(analyzer=cfg.analyzer, ngram_range=cfg.ngram_range, sublinear_tf=True, min_df=cfg.min_df)
        ]
        if cfg.word_ngrams:
            vectorizers.append(TfidfVectorizer(analyzer="word", ngram_range=cfg.word_ngrams, sublinear_tf=True))
        self._vectorizers = list(vectorizers)
        return hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()

    def _tfidf_features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self._vectorizers]).tocsr()

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """(n, n_classes) averaged probabilities, columns in `classes_` order."""
        if self._embedding_model is None:
            raise RuntimeError("classifier is not fitted")
        if len(texts) == 0:
            return np.zeros((0, len(self.classes_)))
        proba = self._embedding_model.predict_proba(embeddings)
        w = self.config.tfidf_weight
        if w > 0 and self._tfidf_model is not None:
            tfidf = self._tfidf_model.predict_proba(self._tfidf_features(texts))
            proba = (1.0 - w) * proba + w * tfidf
        return np.asarray(proba)

    def class_similarity(self, embeddings: np.ndarray, predicted: Sequence[str], k: int = 3) -> np.ndarray:
        """Mean cosine of each row to the k nearest training examples of its predicted class."""
        out = np.zeros(len(predicted), dtype=np.float32)
        for i, (vector, label) in enumerate(zip(embeddings, predicted, strict=True)):
            examples = self._examples.get(label)
            if examples is None or not len(examples):
                continue
            sims = examples @ vector
            kk = min(k, len(sims))
            out[i] = float(np.mean(np.partition(sims, -kk)[-kk:]))
        return out

    def top(self, proba: np.ndarray, k: int = 2) -> list[list[tuple[str, float]]]:
        """The k best (label, probability) pairs of each row."""
        order = np.argsort(-proba, axis=1)[:, :k]
        return [[(self.classes_[j], float(row[j])) for j in idx] for row, idx in zip(proba, order, strict=True)]


def reject_threshold_for_accuracy(score: np.ndarray, correct: np.ndarray, target_accuracy: float) -> float:
    """Highest threshold whose accepted in-scope items still reach `target_accuracy` (wrong or rejected
    both count as errors): the usual way to set an out-of-scope threshold on a validation split.

    Args:
        score: in-scope score of each in-scope validation item.
        correct: whether the classifier's label for that item is right.
        target_accuracy: e.g. 0.95.
    """
    order = np.argsort(-score)
    hits = np.cumsum(np.asarray(correct)[order])  # correct items accepted when cutting after position i
    n = len(score)
    ok = np.nonzero(hits / max(n, 1) >= target_accuracy)[0]
    if not len(ok):
        return float(np.min(score)) if n else 0.0
    return float(score[order][ok[0]])


@dataclass(frozen=True)
class ScopeGate:
    """In-scope score = z(max probability) + similarity_weight * z(class similarity); reject below threshold.

    With `similarity_weight=0` and the default statistics this is the plain max-probability rule.
    The z statistics come from a reference set (`calibrated`), e.g. a validation split.
    """

    threshold: float = 0.0
    similarity_weight: float = 0.0
    k: int = 3
    prob_mean: float = 0.0
    prob_std: float = 1.0
    sim_mean: float = 0.0
    sim_std: float = 1.0

    def score(self, max_prob: np.ndarray, class_sim: np.ndarray | None = None) -> np.ndarray:
        """Higher = more in scope."""
        z = (np.asarray(max_prob, dtype=float) - self.prob_mean) / self.prob_std
        if self.similarity_weight and class_sim is not None:
            z = z + self.similarity_weight * (np.asarray(class_sim, dtype=float) - self.sim_mean) / self.sim_std
        return z

    def calibrated(self, max_prob: np.ndarray, class_sim: np.ndarray) -> ScopeGate:
        """The same gate with z statistics taken from a reference set (threshold unchanged)."""
        return ScopeGate(
            self.threshold,
            self.similarity_weight,
            self.k,
            float(np.mean(max_prob)),
            float(np.std(max_prob)) or 1.0,
            float(np.mean(class_sim)),
            float(np.std(class_sim)) or 1.0,
        )

    def with_threshold(self, threshold: float) -> ScopeGate:
        """The same gate rejecting below `threshold`."""
        return ScopeGate(
            threshold, self.similarity_weight, self.k, self.prob_mean, self.prob_std, self.sim_mean, self.sim_std
        )

    def accept(self, max_prob: np.ndarray, class_sim: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask: in scope."""
        return self.score(max_prob, class_sim) >= self.threshold
