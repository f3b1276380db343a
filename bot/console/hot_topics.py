"""Hot topics: clusters of similar tickets, and an alert when one grows fast.

Why: many requests that look individually reasonable reveal a *class* of problems when seen
together (school-gate traffic, a broken pipe that floods a whole street); seeing the cluster early is
how a desk moves from handling single requests to governing at the source ("未诉先办").

How: embed the redacted summaries (the shared sentence encoder; its disk cache makes re-runs cheap),
average-linkage agglomerative clustering on cosine distance cut at a similarity threshold, then label
each cluster by its most central ticket and its most distinctive words (jieba, TF-IDF against all
tickets of the window). A cluster alerts when it has >= 5 tickets in the last 48 h and more than
twice as many as in the 48 h before.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from bot.console.web import Ctx, page
from bot.db.engine import READ_ONLY
from bot.privacy import mask
from bot.tickets.models import Ticket

log = logging.getLogger(__name__)

EMBED_CHARS = 96  # the first sentence or two carry the topic; shorter texts embed several times faster
TERM_CHARS = 200
MAX_ITEMS = 5000  # average linkage needs n^2 memory: 5,000 tickets are ~100 MB of distances
MIN_CLUSTER = 3
RECENT = timedelta(hours=48)
ALERT_MIN_RECENT = 5
ALERT_GROWTH = 2.0
CACHE_SECONDS = 600
DAY_CHOICES = (7, 14, 30, 90)

STOPWORDS = frozenset(
    """
    的 了 和 是 在 我 我们 你们 他们 有 没有 也 就 都 而 及 与 或 一个 这个 那个 这些 那些 什么 怎么 如何 为什么 请问 请 问题 反映
    咨询 投诉 建议 希望 要求 能否 是否 可以 不能 已经 现在 目前 相关 部门 领导 政府 市民 群众 本人 情况 解决 处理 进行 一直 非常 严重 多次
    以及 但是 因为 所以 如果 还是 这样 那么 关于 对于 通过 予以 给予 谢谢 您好 你好 尊敬 一下 一些 有关 没 不 很 还 又 被 把 让 给 到
    从 向 对 为 上 下 中 后 前 时 年 月 日 号 区 市 县
    """.split()  # noqa: SIM905 - a word list reads and reviews better as text than as 105 quoted items
)


@dataclass(frozen=True)
class TopicItem:
    id: int
    number: str
    desk: str
    created_at: datetime
    text: str


@dataclass(frozen=True)
class Topic:
    """One cluster: how big, how fast it grows, and what it is about (masked)."""

    size: int
    recent: int
    previous: int
    label: str
    terms: tuple[str, ...]
    numbers: tuple[str, ...]
    ticket_ids: tuple[int, ...]
    first_at: datetime
    last_at: datetime

    @property
    def alert(self) -> bool:
        return self.recent >= ALERT_MIN_RECENT and self.recent > ALERT_GROWTH * self.previous


@dataclass(frozen=True)
class TopicEmbedder:
    """How texts become vectors, and the average cosine similarity that counts as "the same topic"."""

    name: str
    encode: Callable[[list[str]], np.ndarray]
    threshold: float


@dataclass
class TopicRun:
    topics: list[Topic]
    items: int
    seconds: float
    embedder: str
    computed_at: datetime
    timings: dict[str, float] = field(default_factory=dict)


def sentence_embedder() -> TopicEmbedder:
    """The shared multilingual-e5 encoder (vectors cached on disk). e5 similarities sit high, hence 0.92."""
    from bot.embeddings.encoder import get_encoder

    encoder = get_encoder()
    return TopicEmbedder("multilingual-e5-small", lambda texts: encoder.encode(texts), 0.92)


def hashing_embedder(dim: int = 1024) -> TopicEmbedder:
    """Character 1-2-gram hashing: no model, deterministic; for tests and when the model is missing."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(analyzer="char", ngram_range=(1, 2), n_features=dim, alternate_sign=False)

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(vectorizer.transform(texts).toarray(), dtype=np.float32)

    return TopicEmbedder("char-ngram-hashing", encode, 0.45)


def default_embedder() -> TopicEmbedder:
    try:
        from bot.embeddings.encoder import get_encoder

        get_encoder().model_id  # noqa: B018 - raises when the model folder is missing
        return sentence_embedder()
    except Exception:  # no model built: topics still work, more coarsely
        log.warning("embedding model unavailable; hot topics use character n-grams")
        return hashing_embedder()


def load_items(
    engine: Engine, desks: Sequence[str], since: datetime | None, until: datetime, limit: int = MAX_ITEMS
) -> list[TopicItem]:
    """In-scope tickets of the window, newest first (declined/referred records are analysed elsewhere)."""
    stmt = select(Ticket.id, Ticket.number, Ticket.desk, Ticket.created_at, Ticket.summary_redacted).where(
        Ticket.desk.in_(desks), Ticket.route.in_(("ticket", "crisis")), Ticket.created_at <= until
    )
    if since is not None:
        stmt = stmt.where(Ticket.created_at >= since)
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        rows = connection.execute(stmt.order_by(Ticket.created_at.desc()).limit(limit)).all()
    return [TopicItem(int(r[0]), str(r[1]), str(r[2]), r[3], str(r[4] or "")) for r in rows]


def cluster_labels(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage clusters whose mean pairwise cosine similarity stays >= threshold."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.ones(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(np.asarray(vectors, dtype=np.float64), method="average", metric="cosine")
    return np.asarray(fcluster(tree, t=1.0 - threshold, criterion="distance"))


def _jieba() -> Any:
    """jieba, imported quietly (its module has old escape sequences and logs its dictionary loading)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba
        import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _tokens(text: str) -> list[str]:
    jieba = _jieba()
    return [
        w
        for w in jieba.lcut(text[:TERM_CHARS])
        if len(w) > 1 and w not in STOPWORDS and not w.isdigit() and not w.startswith("[") and w.strip()
    ]


def _is_name(word: str) -> bool:
    """Person names (jieba's nr* tags) never become topic words: a cluster label must not identify anyone."""
    return any(pair.flag.startswith("nr") for pair in _jieba().posseg.lcut(word))


def _first_sentence(text: str, limit: int = 60) -> str:
    """The label: the first sentence (the title of a message), where names and details are rarest."""
    for stop in ("。", "！", "？", "\n"):
        head, found, _rest = text.partition(stop)
        if found and len(head) >= 6:
            text = head
    return text if len(text) <= limit else text[:limit] + "…"


def find_topics(
    items: Sequence[TopicItem],
    embedder: TopicEmbedder,
    now: datetime,
    *,
    min_size: int = MIN_CLUSTER,
    top: int = 20,
) -> TopicRun:
    """Cluster `items` and describe the biggest / fastest-growing clusters."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    texts = [item.text[:EMBED_CHARS] or "（空）" for item in items]
    vectors = embedder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
    timings["embed_s"] = time.perf_counter() - started
    t = time.perf_counter()
    labels = cluster_labels(vectors, embedder.threshold)
    timings["cluster_s"] = time.perf_counter() - t
    t = time.perf_counter()
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    candidates = [g for g in groups.values() if len(g) >= min_size]
    recent_from, previous_from = now - RECENT, now - 2 * RECENT

    def counts(members: list[int]) -> tuple[int, int]:
        recent = sum(1 for i in members if items[i].created_at >= recent_from)
        previous = sum(1 for i in members if previous_from <= items[i].created_at < recent_from)
        return recent, previous

    scored = []
    for members in candidates:
        recent, previous = counts(members)
        growing = recent >= ALERT_MIN_RECENT and recent > ALERT_GROWTH * previous
        scored.append((not growing, -recent, -len(members), members, recent, previous))
    scored.sort(key=lambda s: s[:3])
    chosen = scored[:top]

    tokenised: list[list[str]] = []
    if chosen:
        tokenised = [_tokens(item.text) for item in items]
    df: Counter[str] = Counter()
    for words in tokenised:
        df.update(set(words))
    n_docs = max(1, len(items))
    topics = []
    for _a, _b, _c, members, recent, previous in chosen:
        block = vectors[members]
        centre = int(members[int(np.argmax(block @ block.mean(axis=0)))])
        tf: Counter[str] = Counter()
        for i in members:
            tf.update(tokenised[i])
        ranked = sorted(tf, key=lambda w: -tf[w] * math.log(n_docs / (1 + df[w]) + 1))[:12]
        terms = [w for w in ranked if not _is_name(w)][:5]
        label = mask(_first_sentence(items[centre].text))
        times = [items[i].created_at for i in members]
        newest = sorted(members, key=lambda i: items[i].created_at, reverse=True)
        topics.append(
            Topic(
                size=len(members),
                recent=recent,
                previous=previous,
                label=label,
                terms=tuple(terms),
                numbers=tuple(items[i].number for i in newest[:5]),
                ticket_ids=tuple(items[i].id for i in newest[:5]),
                first_at=min(times),
                last_at=max(times),
            )
        )
    timings["label_s"] = time.perf_counter() - t
    return TopicRun(topics, len(items), time.perf_counter() - started, embedder.name, now, timings)


def _cache_key(desks: Sequence[str], days: int) -> str:
    return f"topics:{','.join(sorted(desks))}:{days}"


def topics_for(state: Any, desks: tuple[str, ...], days: int) -> TopicRun:
    """Clusters of the last `days` days, recomputed at most every 10 minutes or when tickets arrive."""
    now = state.now()
    with state.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        newest = connection.execute(select(func.max(Ticket.id)).where(Ticket.desk.in_(desks))).scalar()
    key = _cache_key(desks, days)
    cached = state.cache.get(key)
    if cached and cached[0] == newest and (now - cached[1].computed_at).total_seconds() < CACHE_SECONDS:
        return cached[1]
    if state.embedder is None:
        state.embedder = default_embedder()
    items = load_items(state.engine, desks, now - timedelta(days=days), now)
    run = find_topics(items, state.embedder, now)
    state.cache[key] = (newest, run)
    return run


def cached_alerts(state: Any, desks: tuple[str, ...]) -> list[Topic]:
    """Growing clusters from the last run for these desks (the analytics page never clusters itself)."""
    alerts: list[Topic] = []
    for days in DAY_CHOICES:
        cached = state.cache.get(_cache_key(desks, days))
        if cached:
            alerts.extend(t for t in cached[1].topics if t.alert and t not in alerts)
    return alerts


@page("analytics")
async def topics(ctx: Ctx) -> Response:
    """The hot-topics page (supervisors and admins)."""
    params = ctx.request.query_params
    desk = params.get("desk", "")
    desks = (desk,) if desk in ctx.member.desks else ctx.member.desks
    try:
        days = int(params.get("days", "14"))
    except ValueError:
        days = 14
    days = days if days in DAY_CHOICES else 14
    run = await run_in_threadpool(topics_for, ctx.state, desks, days)
    return await run_in_threadpool(
        lambda: ctx.render("topics.html", run=run, desk=desk, days=days, day_choices=DAY_CHOICES)
    )
