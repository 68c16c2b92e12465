"""Who may push what is declared once (sync/push_rules.py): the handlers and the table in
docs/sync-protocol.md follow it."""

from __future__ import annotations

import re
from pathlib import Path

from api.tickets.lifecycle import EDITABLE_FIELDS
from sync import push_rules
from sync.collections import BY_NAME
from sync.handlers import HANDLERS, TICKET_UPDATE_FIELDS

DOC = Path(__file__).resolve().parent.parent / "docs" / "sync-protocol.md"


def test_the_docs_table_is_the_declaration() -> None:
    text = DOC.read_text()
    found = re.search(r"<!-- push-rules:start -->\n(.*?)\n<!-- push-rules:end -->", text, re.S)
    assert found, "the push rules table is missing from docs/sync-protocol.md"
    assert found.group(1) == push_rules.markdown_table(), "regenerate it: python -m sync.push_rules"


def test_every_declared_push_has_a_handler_and_every_handler_a_rule() -> None:
    declared = {(rule.collection, rule.op) for rule in push_rules.RULES}
    assert declared == set(HANDLERS)
    assert all(collection in BY_NAME for collection, _ in declared)


def test_the_ticket_details_are_the_lifecycles_editable_fields() -> None:
    assert set(push_rules.TICKET_DETAILS) == set(EDITABLE_FIELDS)
    assert set(push_rules.TICKET_DETAILS) <= TICKET_UPDATE_FIELDS
