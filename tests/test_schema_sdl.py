"""The exported SDL (schema/schema.graphql) is what the code serves."""

from schema.export import REGENERATE, SDL_PATH, current_sdl


def test_exported_sdl_matches_the_code() -> None:
    assert SDL_PATH.exists(), f"{SDL_PATH} is missing; run: {REGENERATE}"
    on_disk = SDL_PATH.read_text()
    assert on_disk == current_sdl(), (
        f"schema/schema.graphql differs from the schema the code builds; if the change is "
        f"intended, regenerate it with `{REGENERATE}` and commit the file"
    )


def test_every_node_type_is_in_the_sdl() -> None:
    sdl = current_sdl()
    for name in (
        "Grid",
        "Enterprise",
        "Member",
        "Ticket",
        "TicketEvent",
        "TicketComment",
        "Station",
        "Room",
        "StationActivity",
        "Attendance",
        "Evaluation",
        "CoachingRequest",
    ):
        assert f"type {name} implements Node" in sdl, name
