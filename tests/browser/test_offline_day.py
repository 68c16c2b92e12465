"""The liaison's offline day in a real Chromium at 360 × 740: sign in, first sync, network
off, reload (the service worker opens the app), report 3 tickets with a photo each, move 2
tickets along, comment, sign 5 attendees in — while the office reassigns one of the
liaison's tickets and edits a field the liaison also edited. Back online: everything
reached the server, the reassigned ticket left the phone, the conflict shows both values and
is resolved in the app."""

from __future__ import annotations

import struct
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.phone import (
    ADMIN,
    LIAISON,
    OFFICER,
    Office,
    attachments_served,
    global_id,
    local_records,
    open_app,
    sign_in,
    wait_controlled,
    wait_synced,
)
from tests.demo_server import demo_server

pytestmark = pytest.mark.browser


def camera_photo(path: Path, width: int = 1600, height: int = 1200) -> Path:
    """A PNG as big as a phone camera's picture (the app shrinks it before keeping it)."""
    row = bytes(range(256)) * (width * 3 // 256 + 2)
    raw = b"".join(b"\0" + row[(y % 256) : (y % 256) + width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
    return path


def ticket_page(page: Any, ticket_id: str) -> None:
    page.evaluate("id => { location.hash = '#/ticket/' + id; }", ticket_id)
    page.wait_for_selector("[data-testid=moves]")


def test_offline_day(database_url: str, phone_context: Any, tmp_path: Path) -> None:
    photo = camera_photo(tmp_path / "photo.png")
    with demo_server(database_url) as url:
        admin, office = Office(url, ADMIN), Office(url, OFFICER)
        liaison = office.member(LIAISON)
        # The liaison also helps at the guidance station, where a training is held today.
        station = admin.gql("{ stations(first: 1) { nodes { uuid } } }")["stations"]["nodes"][0]
        admin.gql(
            "mutation($id: ID!, $s: [ID!]) { updateMember(input: {id: $id, stationIds: $s}) "
            "{ errors { code } } }",
            id=liaison["uuid"],
            s=[station["uuid"]],
        )
        activity = office.gql(
            "mutation($s: ID!, $at: DateTime!) { createStationActivity(input: {stationId: $s, "
            'kind: BIG_POT_TRAINING, title: "集体协商培训", startsAt: $at}) '
            "{ activity { uuid } errors { code message } } }",
            s=station["uuid"],
            at=datetime.now(UTC).isoformat(),
        )["createStationActivity"]["activity"]["uuid"]
        mine = office.tickets_of(liaison["uuid"])
        to_start = next(t for t in mine if t["status"] == "ASSIGNED" and t["reporter"])
        to_move = next(
            t for t in mine if t["status"] == "ASSIGNED" and not t["reporter"] and t is not to_start
        )
        to_edit = next(t for t in mine if t["status"] == "IN_PROGRESS")
        open_in_grid = office.gql(
            "query($g: ID!) { tickets(first: 50, filter: {gridId: $g, unassigned: true}) "
            "{ nodes { uuid status } } }",
            g=office.grid("SY-T01-J01"),
        )["tickets"]["nodes"]
        taken = next(t["uuid"] for t in open_in_grid if t["status"] == "REPORTED")

        page = phone_context.new_page()
        open_app(page, url)
        screenshot(page, "01-sign-in")
        sign_in(page, LIAISON)
        wait_controlled(page)
        screenshot(page, "02-my-work")

        # --- no network from here on; the app opens from the service worker ---
        phone_context.set_offline(True)
        started = time.monotonic()
        page.reload()
        page.wait_for_selector("[data-testid=ticket-list]")
        offline_open = time.monotonic() - started
        assert page.get_attribute("[data-testid=syncbar]", "data-online") == "false"
        assert page.locator(f"[data-ticket='{to_move['uuid']}']").count() == 1

        titles = [f"离线上报 {n}：欠薪线索" for n in range(3)]
        for title in titles:
            page.click("nav a[href='#/report']")
            page.wait_for_selector("form.report")
            page.select_option("select[name=enterpriseId]", index=1)
            page.select_option("select[name=source]", "RISK_HAZARD")
            page.select_option("select[name=severity]", "HIGH")
            page.fill("input[name=title]", title)
            page.fill("textarea[name=description]", "现场走访发现，离线记录")
            page.set_input_files("input[name=photo]", str(photo))
            page.wait_for_selector("[data-testid=photo-count]")
            page.click("form.report button[type=submit]")
            page.wait_for_selector("[data-testid=report-message]")
        screenshot(page, "03-report")

        # Two tickets moved along: one assigned to me, and one I take (unassigned in my grid).
        ticket_page(page, to_start["uuid"])
        page.click("[data-move=IN_PROGRESS]")
        page.wait_for_selector("[data-move=MEDIATING]")
        ticket_page(page, taken)
        page.click("[data-move=IN_PROGRESS]")
        # Taken offline: in progress on the phone; the server makes me its assignee.
        page.wait_for_selector("[data-field='ticket.status'] >> text=办理中")

        # A comment and an edit of the description on a ticket I work.
        ticket_page(page, to_edit["uuid"])
        page.fill("input[name=comment]", "已约企业负责人明天面谈")
        page.click("form.row button[type=submit]")
        page.wait_for_selector("text=已约企业负责人明天面谈")
        page.click("text=修改描述")
        page.fill("textarea[name=description]", "网格员现场核实：拖欠两个月工资")
        page.click("text=保存")
        page.wait_for_selector("text=网格员现场核实：拖欠两个月工资")
        screenshot(page, "04-ticket")

        page.click("nav a[href='#/activities']")
        card = page.locator(f"[data-activity='{activity}']")
        for n in range(5):
            card.locator("input[name=attendee]").fill(f"职工{n + 1}")
            card.locator("button[type=submit]").click()
            page.wait_for_function(
                "([id, n]) => document.querySelector(`[data-activity='${id}'] "
                "[data-testid=signed]`)?.dataset.count === String(n)",
                arg=[activity, n + 1],
            )
        screenshot(page, "05-activities")
        # 3 tickets + 3 photos + 2 moves + comment + edit + 5 sign-ins wait on the phone.
        assert page.get_attribute("[data-testid=syncbar]", "data-unsent") == "15"

        # --- meanwhile at the office ---
        before = office.ticket(to_move["uuid"])
        version = before["version"]
        moved = office.sync_update(
            "tickets", to_move["uuid"], version, {"gridId": office.grid("SY-T01-J02")}
        )
        assert moved["status"] == "APPLIED", moved
        assert before["grid"]["code"] != "SY-T01-J02"
        office.gql(
            "mutation($id: ID!, $d: String) { updateTicket(input: {id: $id, description: $d})"
            " { errors { code } } }",
            id=to_edit["uuid"],
            d="办公室更新：已联系劳动监察",
        )

        # --- back online: the app syncs by itself ---
        phone_context.set_offline(False)
        wait_synced(page, timeout=60_000)
        page.click("nav a[href='#/']")
        page.click("button.chip >> nth=1")  # every open ticket, not only mine
        page.wait_for_selector("[data-testid=ticket-list]")
        assert page.locator(f"[data-ticket='{to_move['uuid']}']").count() == 0

        # Each report's photo: its record and its bytes reached the server.
        if attachments_served(office):
            photos = local_records(page, "ticketAttachments")
            reported = {t["id"] for t in local_records(page, "tickets") if t["title"] in titles}
            assert sorted(p["ticketId"] for p in photos if p["ticketId"] in reported) == sorted(
                reported
            )
            for p in photos:
                assert p["uploaded"] is True
                assert office.http.head(f"/attachments/{p['id']}").status_code == 200
                assert p["width"] == 1280 and p["height"] == 960  # resized on the phone
        for title in titles:
            found = office.gql(
                "query($s: String) { tickets(first: 5, filter: {search: $s}) "
                "{ nodes { uuid source severity reporter { phone } } } }",
                s=title,
            )["tickets"]["nodes"]
            assert len(found) == 1, title
            assert found[0]["severity"] == "HIGH"
        assert office.ticket(to_start["uuid"])["status"] == "IN_PROGRESS"
        taken_now = office.ticket(taken)
        assert taken_now["status"] == "IN_PROGRESS"
        assert taken_now["assignee"]["phone"] == LIAISON
        edited = office.ticket(to_edit["uuid"])
        assert "已约企业负责人明天面谈" in [c["body"] for c in edited["comments"]]
        assert edited["description"] == "办公室更新：已联系劳动监察"  # the office's stands
        signed = office.gql(
            "query($id: ID!) { node(id: $id) { ... on StationActivity { attendances "
            "{ attendeeName } } } }",
            id=global_id("StationActivity", activity),
        )["node"]["attendances"]
        assert sorted(a["attendeeName"] for a in signed) == [f"职工{n}" for n in range(1, 6)]

        # The conflict: both values side by side, settled in the app (take mine).
        page.click("[data-testid=conflict-count]")
        conflict = page.locator("[data-conflict]")
        conflict.wait_for()
        assert (
            conflict.locator("[data-testid=mine]").inner_text() == "网格员现场核实：拖欠两个月工资"
        )
        assert conflict.locator("[data-testid=server]").inner_text() == "办公室更新：已联系劳动监察"
        screenshot(page, "06-conflict")
        conflict.locator("button.primary").click()
        page.wait_for_selector("[data-testid=no-conflicts]")
        assert office.ticket(to_edit["uuid"])["description"] == "网格员现场核实：拖欠两个月工资"
        print(f"offline open: {offline_open * 1000:.0f} ms")
