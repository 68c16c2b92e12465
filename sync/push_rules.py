"""Who may push what: THE declaration, per collection, op and field. The handlers take their
allowed fields from it (sync.handlers.allowed_fields), the read-only and append-only answers
follow from it, and the table in docs/sync-protocol.md is rendered from it
(tests/test_sync_push_rules.py holds the two equal; `python -m sync.push_rules` prints it).

Who may is judged on the record as the server holds it when the push arrives — whether or
not it changed since the phone's base version. The checks themselves live in the domain
(api/tickets/lifecycle.py, api/attachments/service.py, api/stations/); `who` says
the same in words."""

from __future__ import annotations

from dataclasses import dataclass

TICKET_DETAILS = ("title", "description", "category", "severity", "reporterName", "reporterPhone")
ATTACHMENT_CREATE = (
    "ticketId",
    "kind",
    "contentType",
    "byteSize",
    "sha256",
    "width",
    "height",
    "caption",
    "takenAt",
    "latitude",
    "longitude",
)


@dataclass(frozen=True)
class PushRule:
    collection: str
    op: str  # CREATE | UPDATE | DELETE
    fields: tuple[str, ...]  # camelCase; empty for DELETE
    who: str


RULES: tuple[PushRule, ...] = (
    PushRule(
        "tickets",
        "CREATE",
        (
            "title",
            "source",
            "gridId",
            "enterpriseId",
            "description",
            "category",
            "severity",
            "reporterName",
            "reporterPhone",
            "reportedAt",
            "status",
        ),
        "whoever sees the grid (`gridId`, or the enterprise's grid); a member for its own "
        "enterprise. `status` is then moved through the lifecycle as for an UPDATE",
    ),
    PushRule(
        "tickets",
        "UPDATE",
        TICKET_DETAILS,
        "the assignee; union staff (admin, county staff, town staff) whose area holds the "
        "ticket; whoever filed it (or the worker who reported it) while it is still REPORTED",
    ),
    PushRule(
        "tickets",
        "UPDATE",
        ("status", "resolutionNote"),
        "as the lifecycle allows the move (docs/rules.md): the assignee or union staff; a "
        "liaison takes an unassigned ticket of its grid (`IN_PROGRESS`); the reporting worker "
        "withdraws or reopens",
    ),
    PushRule(
        "tickets",
        "UPDATE",
        ("assigneeId",),
        "union staff whose area holds the ticket; anyone else only to assign it to themself",
    ),
    PushRule("tickets", "UPDATE", ("gridId",), "union staff whose area holds the ticket"),
    PushRule(
        "tickets",
        "DELETE",
        (),
        "union staff whose area holds the ticket; whoever filed it while it is still REPORTED "
        "(its comments and attachments go with it)",
    ),
    PushRule(
        "ticketComments",
        "CREATE",
        ("ticketId", "body", "occurredAt"),
        "whoever sees the ticket; append-only afterwards",
    ),
    PushRule(
        "ticketAttachments",
        "CREATE",
        ATTACHMENT_CREATE,
        "whoever sees the ticket (becomes `uploadedById`, the only one who uploads the bytes)",
    ),
    PushRule(
        "ticketAttachments",
        "UPDATE",
        ("caption",),
        "the uploader; union staff whose area holds the ticket",
    ),
    PushRule(
        "ticketAttachments",
        "DELETE",
        (),
        "the uploader; union staff whose area holds the ticket",
    ),
    PushRule(
        "attendances",
        "CREATE",
        ("activityId", "memberId", "attendeeName", "enterpriseId", "signedInAt"),
        "members of the activity's station; append-only afterwards",
    ),
    PushRule(
        "evaluations",
        "CREATE",
        ("chairId", "evaluatorKind", "period", "scores", "stationId", "comment"),
        "as the station rules allow the evaluator; append-only afterwards",
    ),
    PushRule("notifications", "UPDATE", ("readAt",), "the recipient"),
)


def allowed(collection: str, op: str) -> frozenset[str]:
    """Every field a push of this collection and op may carry (all its rules together)."""
    return frozenset(
        name
        for rule in RULES
        if (rule.collection, rule.op) == (collection, op)
        for name in rule.fields
    )


def append_only(collection: str) -> bool:
    """Created through sync, never changed or deleted afterwards."""
    ops = {rule.op for rule in RULES if rule.collection == collection}
    return ops == {"CREATE"}


def markdown_table() -> str:
    rows = [
        "| collection | op | fields | who may |",
        "| --- | --- | --- | --- |",
    ]
    for rule in RULES:
        fields = ", ".join(f"`{name}`" for name in rule.fields) or "—"
        rows.append(f"| `{rule.collection}` | {rule.op} | {fields} | {rule.who} |")
    rows.append(
        "| every other collection, and ops not listed | — | — | nobody through sync: "
        "`READ_ONLY_COLLECTION` (or `APPEND_ONLY` for the append-only ones); use the "
        "GraphQL API |"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
