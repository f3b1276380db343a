"""benchmarks/wechat_bench.py's scoring: what counts as an answer, lost, duplicated, and the timings."""

from __future__ import annotations

from typing import Any

from benchmarks.wechat_bench import NOTICE, message_of, score
from tools.fake_wechat import Attempt, Delivery


def passive(text: str | None, *seconds: float) -> Delivery:
    delivery = Delivery("m", [Attempt(200, s) for s in seconds])
    delivery.reply = None if text is None else {"Content": text}
    return delivery


def pushed(open_id: str, text: str, at: float) -> dict[str, Any]:
    return {"touser": open_id, "text": {"content": text}, "at": at}


def test_the_notice_is_not_an_answer_nor_a_second_one() -> None:
    answer = [f"答复：{message_of(i)}" for i in range(5)]
    results = [
        ("u0", 100.0, passive(f"{NOTICE}\n\n{answer[0]}", 0.5)),  # everything in the passive reply
        ("u1", 100.0, passive(None, 4.0)),  # `success`, then the notice and the answer pushed
        ("u2", 100.0, passive(None, 4.0)),  # the notice pushed, the answer never: lost
        ("u3", 100.0, passive(answer[3], 1.0)),  # answered twice: passive and pushed
        ("u4", 100.0, passive(None, 4.0)),  # the gateway's apology (Rasa too slow)
    ]
    sent = [
        pushed("u1", NOTICE, 106.0),
        pushed("u1", answer[1], 107.0),
        pushed("u2", NOTICE, 106.0),
        pushed("u3", answer[3], 109.0),
        pushed("u4", NOTICE, 110.0),
        pushed("u4", "抱歉，系统暂时无法回答，请稍后再试或拨打12345。", 111.0),
    ]
    figures = score(results, sent)
    assert (figures["lost"], figures["duplicated"], figures["answered_with_an_apology"]) == (1, 1, 1)
    assert figures["passive_within_5s"] == 0.4  # u0 and u3 of 5
    assert figures["first_answer_median_s"] == 4.0  # of 0.5 (u0), 7.0 (u1), 1.0 (u3), 11.0 (u4)
    assert figures["callback_statuses"] == {"200": 5}


def test_retries_count_towards_the_time_of_a_passive_reply() -> None:
    figures = score([("u0", 0.0, passive(f"答复：{message_of(0)}", 5.0, 5.0, 1.0))], [])
    assert figures["first_answer_p95_s"] == 11.0 and figures["passive_within_5s"] == 0.0
    assert figures["callback_attempts"] == 3
