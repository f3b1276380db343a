"""The transcript: stored as sent, complete and in order; masked when viewed."""

from __future__ import annotations

import threading

import pytest

from bot.tickets.errors import TicketNotFound
from bot.tickets.repository import TicketStore


def test_transcript_keeps_the_order_of_the_conversation(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket(transcript=[("person", "楼道灯坏了"), ("bot", "在哪个小区？")])
    store.add_message(ticket.id, "person", "幸福小区")
    store.add_message(ticket.id, "bot", "已记录")
    lines = store.transcript(ticket.id)
    assert [(line.seq, line.sender, line.text) for line in lines] == [
        (1, "person", "楼道灯坏了"),
        (2, "bot", "在哪个小区？"),
        (3, "person", "幸福小区"),
        (4, "bot", "已记录"),
    ]


def test_messages_are_stored_as_sent_and_masked_in_views(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    store.add_message(ticket.id, "person", "我的电话是13812345678")
    assert store.transcript(ticket.id)[0].text == "我的电话是138****5678"
    assert store.transcript(ticket.id, masked=False)[0].text == "我的电话是13812345678"


def test_parallel_messages_get_distinct_consecutive_seqs(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            for j in range(5):
                store.add_message(ticket.id, "person", f"{i}-{j}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    lines = store.transcript(ticket.id)
    assert [line.seq for line in lines] == list(range(1, 21))
    for i in range(4):  # each sender's own messages stay in the order they were sent
        mine = [line.text for line in lines if line.text.startswith(f"{i}-")]
        assert mine == [f"{i}-{j}" for j in range(5)]


def test_person_reply_puts_a_waiting_ticket_back_in_progress(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    store.change_status(ticket.id, "waiting_for_person", actor="staff:li", reason="need the address")
    store.add_message(ticket.id, "person", "地址是幸福路1号")
    assert store.get(ticket.id).status == "in_progress"
    assert store.events(ticket.id)[-1].details["reason"] == "person replied"


def test_staff_messages_need_a_staff_user_and_tickets_must_exist(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    with pytest.raises(ValueError):
        store.add_message(ticket.id, "staff", "hello")
    with pytest.raises(ValueError):
        store.add_message(ticket.id, "robot", "hello")
    with pytest.raises(TicketNotFound):
        store.add_message(999_999, "person", "hello")
