"""GraphQL for notifications and Web Push: the VAPID key, registering devices (and refusing bad
ones by field), the caller's notifications and marking them read, admins' view of deliveries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.config import Settings
from api.errors import DomainError
from api.records import utcnow
from sync.push_models import PushDelivery, PushSubscription
from sync.subscriptions import MAX_DEVICES_PER_MEMBER, register_subscription
from tests import fakepush, push_support
from tests.fakepush import FakePushService
from tests.helpers import gql
from tests.push_support import (
    PASSWORD,
    SUBJECT,
    deliveries,
    make_world,
    notify_assigned,
    payload,
    register_device,
)

fake_push = fakepush.fake_push
vapid_keys = fakepush.vapid_keys
deliverer = push_support.deliverer

LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token errors { message } }
}"""
REGISTER = """mutation($input: RegisterPushSubscriptionInput!) {
  registerPushSubscription(input: $input) {
    subscription { id endpoint userAgent } errors { field message code }
  }
}"""
UNREGISTER = """mutation($endpoint: String!) {
  unregisterPushSubscription(endpoint: $endpoint) { removed errors { code } }
}"""
NOTIFICATIONS = """query($unreadOnly: Boolean!, $first: Int!, $after: String) {
  notifications(unreadOnly: $unreadOnly, first: $first, after: $after) {
    nodes { id uuid kind title ticketId readAt version } endCursor hasNextPage unreadCount
  }
}"""
MARK_READ = """mutation($ids: [ID!]!) {
  markNotificationsRead(ids: $ids) {
    notifications { uuid readAt } unreadCount errors { field message code }
  }
}"""
ASSIGN = """mutation($input: AssignTicketInput!) {
  assignTicket(input: $input) { ticket { number status } errors { field message code } }
}"""
DELIVERIES = """query($status: PushDeliveryStatus) {
  pushDeliveries(status: $status, first: 10) {
    status attempts lastError lastStatusCode notificationKind subscriptionId pushService
  }
}"""


@pytest.fixture
def settings(database_url: str, vapid_keys: tuple[str, str]) -> Settings:
    return Settings(
        database_url=database_url,
        push_allow_insecure_endpoints=True,
        run_worker_in_process=False,
        vapid_private_key=vapid_keys[0],
        vapid_subject=SUBJECT,
    )


async def _login(client, phone: str) -> str:
    body = await gql(client, LOGIN, {"phone": phone, "password": PASSWORD})
    return body["data"]["login"]["token"]


def _input(device, **overrides: str) -> dict[str, str]:
    values = {"endpoint": device.endpoint, "p256dh": device.p256dh, "auth": device.auth}
    values["userAgent"] = "Mozilla/5.0 (Android 14; Mobile)"
    return {**values, **overrides}


async def test_vapid_key_needs_sign_in_and_matches_the_private_key(
    client, session_factory, vapid_keys
) -> None:
    world = await make_world(session_factory)
    anonymous = await gql(client, "{ vapidPublicKey }", expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = await _login(client, world.liaison.phone)
    body = await gql(client, "{ vapidPublicKey }", token=token)
    assert body["data"]["vapidPublicKey"] == vapid_keys[1]


async def test_register_push_subscription_and_bad_input_by_field(
    client, session_factory, fake_push: FakePushService
) -> None:
    world = await make_world(session_factory)
    token = await _login(client, world.liaison.phone)
    device = fake_push.new_device()

    first = (await gql(client, REGISTER, {"input": _input(device)}, token=token))["data"]
    again = (await gql(client, REGISTER, {"input": _input(device)}, token=token))["data"]
    created = first["registerPushSubscription"]
    assert created["errors"] == []
    assert created["subscription"]["endpoint"] == device.endpoint
    assert again["registerPushSubscription"]["subscription"]["id"] == created["subscription"]["id"]

    other = fake_push.new_device()
    bad = {
        "endpoint": _input(other, endpoint="ftp://push.example/x"),
        "p256dh": _input(other, p256dh="bm90IGEga2V5"),
        "auth": _input(other, auth="too-short"),
    }
    for field, value in bad.items():
        body = await gql(client, REGISTER, {"input": value}, token=token)
        payload_ = body["data"]["registerPushSubscription"]
        assert payload_["subscription"] is None
        [error] = payload_["errors"]
        assert (error["field"], error["code"]) == (field, "INVALID"), error
        assert field in error["message"]
    anonymous = await gql(client, REGISTER, {"input": _input(other)}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with session_factory() as session:
        endpoints = set(await session.scalars(sa.select(PushSubscription.endpoint)))
    assert endpoints == {device.endpoint}  # nothing half-written by the refused ones


async def test_https_is_required_unless_allowed(session_factory, fake_push) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    for endpoint in (device.endpoint, "https://127.0.0.1/push/x", "https://localhost/push/x"):
        with pytest.raises(DomainError) as refused:
            async with session_factory() as session, session.begin():
                await register_subscription(
                    session,
                    member_id=world.liaison.id,
                    endpoint=endpoint,
                    p256dh=device.p256dh,
                    auth=device.auth,
                    allow_insecure=False,
                )
        assert refused.value.field == "endpoint" and refused.value.code == "INVALID"
    async with session_factory() as session, session.begin():
        stored = await register_subscription(
            session,
            member_id=world.liaison.id,
            endpoint="https://fcm.googleapis.com/fcm/send/abc123",
            p256dh=device.p256dh,
            auth=device.auth,
        )
    assert stored.endpoint.startswith("https://")


async def test_a_device_signed_in_as_another_member_drops_what_was_queued_for_the_first(
    session_factory, fake_push: FakePushService
) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    await register_device(session_factory, world.liaison, device)
    await notify_assigned(session_factory, world)
    assert len(await deliveries(session_factory)) == 1
    moved = await register_device(session_factory, world.dispatcher, device)
    assert moved.member_id == world.dispatcher.id
    assert await deliveries(session_factory) == []  # the liaison's news stays with the liaison


async def test_old_devices_beyond_the_limit_are_evicted(session_factory, fake_push) -> None:
    world = await make_world(session_factory)
    devices = [fake_push.new_device() for _ in range(MAX_DEVICES_PER_MEMBER + 1)]
    for device in devices:
        await register_device(session_factory, world.liaison, device)
    async with session_factory() as session:
        endpoints = set(await session.scalars(sa.select(PushSubscription.endpoint)))
    assert len(endpoints) == MAX_DEVICES_PER_MEMBER and devices[0].endpoint not in endpoints


async def test_unregister_only_own_devices(client, session_factory, fake_push) -> None:
    world = await make_world(session_factory)
    mine, theirs = fake_push.new_device(), fake_push.new_device()
    await register_device(session_factory, world.liaison, mine)
    await register_device(session_factory, world.dispatcher, theirs)
    token = await _login(client, world.liaison.phone)
    await notify_assigned(session_factory, world)

    for endpoint, removed in (
        (theirs.endpoint, False),
        (mine.endpoint, True),
        (mine.endpoint, False),
    ):
        body = await gql(client, UNREGISTER, {"endpoint": endpoint}, token=token)
        assert body["data"]["unregisterPushSubscription"] == {"removed": removed, "errors": []}
    async with session_factory() as session:
        left = set(await session.scalars(sa.select(PushSubscription.endpoint)))
        queued = await session.scalar(sa.select(sa.func.count()).select_from(PushDelivery))
    assert left == {theirs.endpoint} and queued == 0


async def test_assignment_push_then_notifications_and_mark_read(
    client, session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    liaison = await _login(client, world.liaison.phone)
    dispatcher = await _login(client, world.dispatcher.phone)
    device = fake_push.new_device()
    body = await gql(client, REGISTER, {"input": _input(device)}, token=liaison)
    assert body["data"]["registerPushSubscription"]["errors"] == []

    # The dispatcher's assignTicket mutation: the outbox row and its delivery are written in
    # the mutation's transaction, and the worker pushes it to the liaison's phone.
    assigned = await gql(
        client,
        ASSIGN,
        {"input": {"ticketId": str(world.ticket.id), "assigneeId": str(world.liaison.id)}},
        token=dispatcher,
    )
    result = assigned["data"]["assignTicket"]
    assert result["errors"] == [] and result["ticket"]["status"] == "ASSIGNED"
    ticket = world.ticket
    assert await deliverer(session_factory, utcnow()) == 1
    [message] = fake_push.messages(device.device_id)
    pushed = payload(message)
    assert pushed["title"] == f"{result['ticket']['number']}: {ticket.title}"

    variables = {"unreadOnly": True, "first": 10, "after": None}
    page = (await gql(client, NOTIFICATIONS, variables, token=liaison))["data"]["notifications"]
    [node] = page["nodes"]
    assert node["uuid"] == pushed["notificationId"] and node["kind"] == "ASSIGNED"
    assert node["ticketId"] == str(ticket.id) and node["readAt"] is None
    assert page["unreadCount"] == 1 and page["hasNextPage"] is False

    # Not the dispatcher's to read: refused by field, nothing changed.
    refused = await gql(client, MARK_READ, {"ids": [node["uuid"]]}, token=dispatcher)
    [error] = refused["data"]["markNotificationsRead"]["errors"]
    assert (error["field"], error["code"]) == ("ids", "NOT_FOUND")
    garbage = await gql(client, MARK_READ, {"ids": ["not-an-id"]}, token=liaison)
    assert garbage["data"]["markNotificationsRead"]["errors"][0]["field"] == "ids"

    # Marked read by its Relay id (the uuid works too); the version moves for sync.
    done = await gql(client, MARK_READ, {"ids": [node["id"]]}, token=liaison)
    marked = done["data"]["markNotificationsRead"]
    assert marked["errors"] == [] and marked["unreadCount"] == 0
    assert marked["notifications"][0]["readAt"] is not None
    page = (await gql(client, NOTIFICATIONS, variables, token=liaison))["data"]["notifications"]
    assert page["nodes"] == [] and page["unreadCount"] == 0
    variables["unreadOnly"] = False
    page = (await gql(client, NOTIFICATIONS, variables, token=liaison))["data"]["notifications"]
    assert page["nodes"][0]["version"] == 2
    mine = await gql(client, NOTIFICATIONS, variables, token=dispatcher)
    assert mine["data"]["notifications"]["nodes"] == []


async def test_notifications_page_by_cursor(client, session_factory) -> None:
    world = await make_world(session_factory)
    for number in range(5):
        await notify_assigned(session_factory, world, title=f"number {number}")
    token = await _login(client, world.liaison.phone)
    seen: list[str] = []
    after = None
    for _ in range(3):
        variables = {"unreadOnly": False, "first": 2, "after": after}
        page = (await gql(client, NOTIFICATIONS, variables, token=token))["data"]["notifications"]
        seen += [n["title"] for n in page["nodes"]]
        after = page["endCursor"]
    assert seen == [f"number {n}" for n in (4, 3, 2, 1, 0)] and page["hasNextPage"] is False
    variables = {"unreadOnly": False, "first": 2, "after": "bm9wZQ"}
    bad = await gql(client, NOTIFICATIONS, variables, token=token, expect_errors=True)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"
    assert "after" in bad["errors"][0]["message"]


async def test_push_deliveries_are_for_admins(
    client, session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    good, refusing = fake_push.new_device(), fake_push.new_device()
    await register_device(session_factory, world.liaison, good)
    await register_device(session_factory, world.liaison, refusing)
    fake_push.script(refusing.device_id, [400])
    await notify_assigned(session_factory, world)
    await deliverer(session_factory, utcnow())

    liaison = await _login(client, world.liaison.phone)
    refused = await gql(client, DELIVERIES, {"status": None}, token=liaison, expect_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    admin = await _login(client, world.admin.phone)
    everything = await gql(client, DELIVERIES, {"status": None}, token=admin)
    assert sorted(d["status"] for d in everything["data"]["pushDeliveries"]) == [
        "DELIVERED",
        "FAILED",
    ]
    failed = await gql(client, DELIVERIES, {"status": "FAILED"}, token=admin)
    [row] = failed["data"]["pushDeliveries"]
    assert row["attempts"] == 1 and row["lastStatusCode"] == 400
    assert row["lastError"].startswith("400") and row["notificationKind"] == "ASSIGNED"
    assert row["pushService"] == fake_push.origin and row["subscriptionId"] is not None
