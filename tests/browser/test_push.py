"""Web Push to the field app: gridlink encrypts a message for the page's subscription and sends
it to a fake push service; the test hands it to the service worker over the DevTools protocol
(ServiceWorker.deliverPushMessage), as the browser's push service would. The worker shows a
notification and pulls, and the new assignment appears without a refresh."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.phone import LIAISON, OFFICER, Office, open_app, sign_in, wait_controlled
from tests.demo_server import demo_server
from tests.fakepush import FakePushService, fake_vapid_keys

pytestmark = pytest.mark.browser


def registration_id(page: Any, cdp: Any) -> str:
    found: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for registration in found:
            if registration["scopeURL"].endswith("/app") and not registration["isDeleted"]:
                return registration["registrationId"]
        page.wait_for_timeout(100)
    raise AssertionError(f"no service worker registration for /app: {found}")


def test_push_shows_a_notification_and_the_new_assignment(
    database_url: str, phone_context: Any
) -> None:
    private_key, public_key = fake_vapid_keys()
    env = {"GRIDLINK_VAPID_PRIVATE_KEY": private_key, "GRIDLINK_RUN_WORKER_IN_PROCESS": "true"}
    with (
        FakePushService(vapid_public_key=public_key) as push,
        demo_server(database_url, env) as url,
    ):
        office = Office(url, OFFICER)
        liaison = office.member(LIAISON)
        unassigned = office.gql(
            "query($g: ID!) { tickets(first: 50, filter: {gridId: $g, unassigned: true}) "
            "{ nodes { uuid status } } }",
            g=office.grid("SY-T01-J01"),
        )["tickets"]["nodes"]
        ticket = next(t["uuid"] for t in unassigned if t["status"] == "REPORTED")

        phone_context.grant_permissions(["notifications"], origin=url)
        page = phone_context.new_page()
        open_app(page, url)
        sign_in(page, LIAISON)
        wait_controlled(page)
        cdp = phone_context.new_cdp_session(page)
        registration = registration_id(page, cdp)
        assert page.locator(f"[data-ticket='{ticket}']").count() == 0  # not mine yet

        # The phone's subscription, at the fake push service (the browser has no real one here).
        device = push.new_device(application_server_key=public_key)
        registered = Office(url, LIAISON).gql(
            "mutation($i: RegisterPushSubscriptionInput!) { registerPushSubscription(input: $i) "
            "{ errors { code } } }",
            i={"endpoint": device.endpoint, "p256dh": device.p256dh, "auth": device.auth},
        )
        assert registered["registerPushSubscription"]["errors"] == []

        assigned = office.gql(
            "mutation($t: ID!, $a: ID!) { assignTicket(input: {ticketId: $t, assigneeId: $a}) "
            "{ errors { code message } } }",
            t=ticket,
            a=liaison["uuid"],
        )
        assert assigned["assignTicket"]["errors"] == []
        [message] = push.wait_for_messages(device.device_id, 1, timeout=30)

        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": url, "registrationId": registration, "data": message.payload.decode()},
        )
        page.wait_for_selector(f"[data-ticket='{ticket}']", timeout=30_000)
        notifications = page.evaluate(
            "async () => (await (await navigator.serviceWorker.ready).getNotifications())"
            ".map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data}))"
        )
        [shown] = [n for n in notifications if n["tag"] == ticket]
        assert shown["data"]["ticketId"] == ticket
        assert shown["title"]  # in Chinese, from the app's catalogue
        screenshot(page, "07-pushed-assignment")
