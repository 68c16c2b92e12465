"""The message catalogue: every message the code makes has its Chinese, no entry is unused,
both languages render; the request's Accept-Language and the member's stored language choose."""

from __future__ import annotations

import re
import string
import uuid
from datetime import UTC, datetime, timedelta
from enum import Enum

import httpx
import pytest
from sqlalchemy import select

from api.i18n import (
    EN,
    LANGUAGES,
    ZH_CN,
    Message,
    _,
    catalogue,
    negotiate,
    render,
    supported,
    use_language,
)
from api.i18n.check import check
from api.i18n.labels import LABELS
from api.members.language import choose_language
from api.notifications.models import Notification, NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from api.tickets import lifecycle
from api.tickets.deadline_checks import check_deadlines
from api.tickets.models import Severity, TicketSource
from sync.conflicts import RULE_MESSAGES
from tests import fakepush, push_support
from tests.fakepush import FakePushService
from tests.helpers import gql
from tests.push_support import (
    PASSWORD,
    assign_to_liaison,
    make_world,
    payload,
    register_device,
)
from tests.sync_support import build_county, do, phone

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_message_in_the_code_is_a_literal_in_the_catalogue_and_none_is_unused() -> None:
    findings = check()
    assert not findings.not_literal, (
        f"message ids must be string literals (a catalogue cannot hold a computed one): "
        f"{findings.not_literal}"
    )
    assert not findings.missing, (
        f"add these to api/i18n/zh_CN.po with their Chinese (python -m api.i18n.check prints "
        f"them): {findings.missing}"
    )
    assert not findings.unused, f"no code makes these; remove them from zh_CN.po: {findings.unused}"


def test_every_catalogue_entry_has_its_chinese_with_the_same_fields() -> None:
    assert not check().untranslated, "\n".join(check().untranslated)


def _sample_arguments(msgid: str) -> dict[str, object]:
    """A number for a field with a number format ({n:,}), else a marked text."""
    args: dict[str, object] = {}
    for _text, name, spec, _conversion in string.Formatter().parse(msgid):
        if name is not None:
            args[name] = 7 if spec else f"<{name}>"
    return args


def test_every_message_renders_in_both_languages() -> None:
    for (context, msgid), chinese in catalogue(ZH_CN).items():
        args = _sample_arguments(msgid)
        message = Message(msgid, context, **args)
        english = message.render(EN)
        assert english == msgid.format(**args)
        assert message.render(ZH_CN) == chinese.format(**args)
        for name, value in args.items():
            assert str(value) in english and str(value) in message.render(ZH_CN), (msgid, name)


def test_every_value_of_a_labelled_enum_has_a_label() -> None:
    kinds = {type(value) for value in LABELS}
    missing = [
        f"{kind.__name__}.{value.name}" for kind in kinds for value in kind if value not in LABELS
    ]
    assert not missing, missing
    for value in LABELS:
        assert render(value, EN) != value.value or value.value.islower()
        assert HAN.search(render(value, ZH_CN)), value


def test_message_is_made_in_the_current_language_and_renders_in_any() -> None:
    assert _("choose one of {languages}", languages="a").startswith("请选择")
    with use_language(EN):
        made = _("choose one of {languages}", languages="a")
    assert made == "choose one of a"
    assert made.render(ZH_CN).startswith("请选择")
    # Enum arguments are rendered by their label, in the message's language.
    pair = Message(
        "{severity} · {source}", None, severity=Severity.LOW, source=TicketSource.WORKER_REQUEST
    )
    assert pair.render(ZH_CN) == "低 · 职工诉求"
    assert pair.render(EN) == "low · worker request"


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (timedelta(days=90), "90 天", "90 days"),
        (timedelta(days=1), "1 天", "1 day"),
        (timedelta(hours=36), "36 小时", "36 hours"),
        (timedelta(minutes=90), "90 分钟", "90 minutes"),
        (timedelta(seconds=61), "61 秒", "61 seconds"),
        (datetime(2026, 11, 30, 16, 5, tzinfo=UTC), "2026年12月1日 00:05", "1 Dec 2026, 00:05"),
    ],
)
def test_durations_in_their_largest_whole_unit_and_times_in_beijing_time(
    value: object, zh: str, en: str
) -> None:
    assert render(value, ZH_CN) == zh
    assert render(value, EN) == en


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ZH_CN),
        ("", ZH_CN),
        ("en", EN),
        ("en-GB,en;q=0.9", EN),
        ("zh-TW", ZH_CN),
        ("fr-FR, en;q=0.5, zh;q=0.8", ZH_CN),
        ("fr-FR, en;q=0.9, zh;q=0.1", EN),
        ("fr", ZH_CN),
        ("en;q=0, *", ZH_CN),
        ("en;q=bogus, zh", ZH_CN),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_supported_language_names() -> None:
    assert [supported(v) for v in ("zh", "zh_CN", "ZH-cn", "en-GB", "de")] == [
        ZH_CN,
        ZH_CN,
        ZH_CN,
        EN,
        None,
    ]
    assert LANGUAGES[0] == ZH_CN


LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token }
}"""
SET_LANGUAGE = """mutation($language: String!) {
  setMyLanguage(language: $language) { language errors { field message code } }
}"""


async def test_the_request_language_chooses_the_messages_and_the_member_stores_theirs(
    client: httpx.AsyncClient, session_factory
) -> None:
    world = await make_world(session_factory)
    token = (await gql(client, LOGIN, {"phone": "13900000001", "password": PASSWORD}))["data"][
        "login"
    ]["token"]

    refused = await gql(client, SET_LANGUAGE, {"language": "klingon"}, token=token)
    [error] = refused["data"]["setMyLanguage"]["errors"]
    assert (error["field"], error["code"]) == ("language", "INVALID")
    assert HAN.search(error["message"]), error  # Chinese without an Accept-Language

    response = await client.post(
        "/graphql",
        json={"query": SET_LANGUAGE, "variables": {"language": "klingon"}},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en-US,en;q=0.9"},
    )
    [error] = response.json()["data"]["setMyLanguage"]["errors"]
    assert not HAN.search(error["message"]) and "zh-CN" in error["message"]
    assert response.headers["content-language"] == EN
    assert "Accept-Language" in response.headers["vary"]

    chosen = await gql(client, SET_LANGUAGE, {"language": "en-GB"}, token=token)
    assert chosen["data"]["setMyLanguage"] == {"language": EN, "errors": []}
    mine = await gql(client, "{ myLanguage languages }", token=token)
    assert mine["data"] == {"myLanguage": EN, "languages": [ZH_CN, EN]}

    # A notification is written in its recipient's language, whoever's request made it.
    async with session_factory() as session, session.begin():
        message = _("choose one of {languages}", languages="x")
        assert HAN.search(message)
        await notify(
            session, recipient_id=world.liaison.id, kind=NotificationKind.ASSIGNED, title=message
        )
        await notify(
            session, recipient_id=world.dispatcher.id, kind=NotificationKind.ASSIGNED, title=message
        )
    async with session_factory() as session:
        titles = dict(
            (await session.execute(select(Notification.recipient_id, Notification.title))).all()
        )
    assert titles[world.liaison.id] == "choose one of x"
    assert titles[world.dispatcher.id] == "请选择其中之一：x"


async def test_a_member_can_go_back_to_chinese(session_factory) -> None:
    world = await make_world(session_factory)
    async with session_factory() as session, session.begin():
        assert await choose_language(session, world.liaison.id, "en") == EN
        assert await choose_language(session, world.liaison.id, "zh") == ZH_CN


def test_labels_are_declared_for_enums_only() -> None:
    assert all(isinstance(value, Enum) for value in LABELS)


# --- a Chinese phone reads Chinese: sync conflicts and push notifications --------------------

CONFLICTS = "{ syncConflicts { rule message } }"


async def test_a_sync_conflict_message_arrives_in_chinese_for_a_chinese_phone(
    client: httpx.AsyncClient, session_factory
) -> None:
    county = await build_county(session_factory)
    a = phone(client, county.liaison_a, "a")

    async def lose_an_edit(description: str) -> None:
        tid = a.create("tickets", {"title": "工资拖欠", "source": "WORKER_REQUEST",
                                   "gridId": str(county.grid_a.id)})  # fmt: skip
        a.update("tickets", tid, {"status": "IN_PROGRESS"})
        await a.sync()
        # Offline on the phone, while the dispatcher edits the same text on the server.
        a.update("tickets", tid, {"description": description})
        await do(
            session_factory,
            lifecycle.update_ticket,
            scope=county.dispatcher.scope,
            ticket_id=uuid.UUID(tid),
            changes={"description": "办公室：已付一半"},
        )
        [result] = await a.push()
        assert result["status"] == "CONFLICT"

    # The phone sends no Accept-Language (or zh-CN): Chinese, the default.
    await lose_an_edit("手机：老板说周五发")
    client.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    await lose_an_edit("手机：周五再问")
    # An English phone reads its own conflict in English.
    client.headers["Accept-Language"] = "en"
    await lose_an_edit("phone: asked again")
    del client.headers["Accept-Language"]

    found = (await gql(client, CONFLICTS, token=county.liaison_a.token))["data"]["syncConflicts"]
    assert [c["rule"] for c in found] == ["SERVER_WINS"] * 3
    chinese = [c["message"] for c in found if HAN.search(c["message"])]
    assert len(chinese) == 2, found
    assert chinese[0] == render(RULE_MESSAGES["SERVER_WINS"], ZH_CN)
    english = [c["message"] for c in found if not HAN.search(c["message"])]
    assert english == [render(RULE_MESSAGES["SERVER_WINS"], EN)]


fake_push = fakepush.fake_push
vapid_keys = fakepush.vapid_keys
deliverer = push_support.deliverer


async def test_a_liaisons_push_notification_is_chinese(
    session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    await register_device(session_factory, world.liaison, device)
    # Assigned by a dispatcher whose own language is English: the liaison's (the default,
    # Chinese) decides.
    async with session_factory() as session, session.begin():
        await choose_language(session, world.dispatcher.id, "en")
    ticket = await assign_to_liaison(session_factory, world)
    # Its first response is due, then missed: the deadline job tells the liaison.
    assert ticket.first_response_due_at is not None
    due = ticket.first_response_due_at
    assert await check_deadlines(session_factory, due + timedelta(seconds=1)) >= 1
    assert await deliverer(session_factory, utcnow() + timedelta(days=1)) >= 2
    titles = [payload(m)["title"] for m in fake_push.messages(device.device_id)]
    assert f"{ticket.number}: {ticket.title}" in titles  # the assignment: number and title
    missed = [t for t in titles if t.startswith(f"{ticket.number}：")]
    assert missed and all(HAN.search(t) for t in missed), titles
    # The time in Beijing time, the kind by its label (never FIRST_RESPONSE).
    beijing = render(due, ZH_CN)
    assert any(beijing in t and "首次响应" in t for t in missed), (titles, beijing)
    async with session_factory() as session:
        bodies = list(
            await session.scalars(
                select(Notification.body).where(Notification.recipient_id == world.liaison.id)
            )
        )
    assert bodies and all(HAN.search(b) for b in bodies), bodies
    assert not any(re.search(r"\b[A-Z_]{4,}\b", b) for b in bodies), bodies  # no raw enums
