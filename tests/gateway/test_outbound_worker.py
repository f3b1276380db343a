"""The outbound queue: delivered in order, retried with backoff, given up on for good reasons, restart-proof."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot import privacy_notice
from bot.gateway.models import OutboundMessage
from bot.gateway.outbound import OutboundWorker
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Gateway, Inbound
from tests.gateway.fakes import FakeRasa, FlakyPusher, no_risk

CID = "12345:telegram:42"


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def outbound(db: Engine) -> list[OutboundMessage]:
    with Session(db) as session:
        return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


async def started(db: Engine, pusher: FlakyPusher, **kwargs: float) -> tuple[Gateway, OutboundWorker]:
    gateway = Gateway(db, RasaClient("http://127.0.0.1:9"), decide=no_risk)
    gateway.store.ensure_conversation("12345", "telegram", "42")
    gateway.store.ensure_conversation("12345", "web", "w1")
    worker = OutboundWorker(
        db,
        {"telegram": pusher},
        base_delay=kwargs.get("base_delay", 0.05),
        max_attempts=int(kwargs.get("max_attempts", 10)),
        scan_interval=0.1,
    )
    gateway.on_outbound(worker.wake)
    await worker.start()
    return gateway, worker


async def test_failed_sends_are_retried_in_order_then_marked_sent(db: Engine) -> None:
    pusher = FlakyPusher(failures=3)
    gateway, worker = await started(db, pusher)
    try:
        gateway.staff_reply(CID, "第一条", "li")
        gateway.staff_reply(CID, "第二条", "li")
        await until(lambda: [r.status for r in outbound(db)] == ["sent", "sent"])
    finally:
        await worker.stop()
    assert pusher.delivered == ["第一条", "第二条"]  # the second never overtook the failing first
    rows = outbound(db)
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [("sent", 3, None), ("sent", 0, None)]


async def test_permanent_failure_and_too_many_attempts_end_as_failed(db: Engine) -> None:
    pusher = FlakyPusher(permanent_for={"被拉黑"})
    gateway, worker = await started(db, pusher, max_attempts=2)
    try:
        gateway.staff_reply(CID, "被拉黑", "li")
        gateway.staff_reply(CID, "之后这条照发", "li")
        await until(lambda: [r.status for r in outbound(db)] == ["failed", "sent"])
        pusher.failures = 99
        gateway.staff_reply(CID, "网络一直不通", "li")
        await until(lambda: outbound(db)[-1].status == "failed")
    finally:
        await worker.stop()
    assert [(r.text, r.status) for r in outbound(db)] == [
        ("被拉黑", "failed"),
        ("之后这条照发", "sent"),
        ("网络一直不通", "failed"),
    ]
    assert outbound(db)[-1].attempts == 2


async def test_pending_and_interrupted_messages_are_sent_after_a_restart(db: Engine) -> None:
    gateway = Gateway(db, RasaClient("http://127.0.0.1:9"), decide=no_risk)
    gateway.store.ensure_conversation("12345", "telegram", "42")
    first = gateway.staff_reply(CID, "崩溃前排队的", "li")
    gateway.staff_reply(CID, "发送到一半的", "li")
    with Session(db) as session:  # the old process died mid-send
        row = session.get(OutboundMessage, first + 1)
        assert row is not None
        row.status = "sending"
        session.commit()
    pusher = FlakyPusher()
    worker = OutboundWorker(db, {"telegram": pusher}, scan_interval=0.1)
    await worker.start()
    try:
        await until(lambda: [r.status for r in outbound(db)] == ["sent", "sent"])
    finally:
        await worker.stop()
    assert pusher.delivered == ["崩溃前排队的", "发送到一半的"]


async def test_polling_channels_are_left_to_their_clients(db: Engine) -> None:
    pusher = FlakyPusher()
    gateway, worker = await started(db, pusher)
    try:
        gateway.staff_reply("12345:web:w1", "给网页的", "li")
        await asyncio.sleep(0.3)
        assert pusher.attempts == 0 and outbound(db)[0].status == "pending"
        polled = gateway.queued_after("12345:web:w1", 0)
        assert [(m["text"], m["from"]) for m in polled] == [("给网页的", "staff")]
        assert outbound(db)[0].status == "sent"
    finally:
        await worker.stop()


async def test_push_channel_replies_go_through_the_queue_once(db: Engine) -> None:
    pusher = FlakyPusher(failures=1)
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk)
    worker = OutboundWorker(db, {"telegram": pusher}, base_delay=0.05, scan_interval=0.1)
    gateway.on_outbound(worker.wake)
    await worker.start()
    try:
        inbound = Inbound("12345", "telegram", "42", "你好", message_id="m1", queue_replies=True)
        await gateway.handle(inbound)
        await gateway.handle(inbound)  # Telegram redelivered it
        await until(lambda: [r.status for r in outbound(db)] == ["sent", "sent"])
        await asyncio.sleep(0.2)
    finally:
        await worker.stop()
    assert pusher.delivered == [privacy_notice.notice("12345"), "收到：你好"]  # the first answer starts with it
    assert len(rasa.sent) == 1


async def test_stop_right_after_a_wake_ends_the_worker(db: Engine) -> None:
    """A wake and a stop in the same loop turn: Python 3.11's wait_for swallowed that cancel and the
    scan loop ran on for ever, so `stop()` never returned (CI hung for an hour)."""
    pusher = FlakyPusher()
    for _ in range(20):
        worker = OutboundWorker(db, {"telegram": pusher}, scan_interval=10)
        await worker.start()
        await asyncio.sleep(0.05)  # the loop now waits for a wake
        loop_task = worker._main
        worker.wake()
        async with asyncio.timeout(10):
            await worker.stop()
        assert loop_task is not None and loop_task.done()
