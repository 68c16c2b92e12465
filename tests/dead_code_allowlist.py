"""Names the dead-code check (vulture, pyproject.toml [tool.vulture]) must not report: each is
used, but by a framework or a library, not by a call in our code. An entry here is an
attribute read, the way vulture counts use; the file is never imported. Add to it only what a
framework calls, with the reason; remove what is really unused instead."""

# ruff: noqa: B018, F821
# (bare attribute reads are the point of this file; `_` is never defined)

# Strawberry: fields of GraphQL types and enum values, read by the executor, not by our code.
_.push_subscriptions_removed  # schema/accounts.py
_.message_zh  # schema/doctor.py, schema/imports.py
_.message_en
_.has_previous_page  # schema/pagination.py (PageInfo)
_.start_cursor
_.page_info
_.PDF  # schema/reports.py (ReportFormat)
_.ROOM  # schema/stations.py: enum values and node fields
_.EVALUATION
_.host_enterprise
_.requested_by
_.coaching_request
_.attendance_count
_.recorded_by
_.APPLIED  # schema/sync.py: enum values and fields
_.MERGED
_.CONFLICT
_.KEEP_SERVER
_.TAKE_CLIENT
_.CUSTOM
_.resolved_value
_.TICKET_EVENT  # schema/tickets.py: enum values and fields
_.TICKET_COMMENT
_.reopened_at
_.satisfaction_comment
_.rated_by
_.changed_by  # schema/rules.py (from the rules branch)
_.deadline_policies
_.risk_weights
_.station_criteria
_.resolve_id_attr  # schema/nodes.py: Strawberry's relay.Node asks it for the id attribute

# Strawberry's ASGI view: hooks and class attributes it calls (api/edge/graphql_view.py).
_.send_json
_.websocket_adapter_class
_.graphql_transport_ws_handler_class
_.get_context
_.on_ws_connect
_.encode_json
_.render_graphql_ide
_.should_render_graphql_ide
_.parse_http_body
_.execute_single

# SQLAlchemy and SQLModel: a TypeDecorator's hooks and attributes, metadata and engine options,
# columns written through the ORM (read by the database and the wire, not by Python code).
_.impl  # api/records.py
_.cache_ok
_.process_bind_param
_.process_result_value
_.naming_convention
_.isolation_level  # api/db.py
_.enum_column  # api/records.py, used by the table modules the check leaves out
_.uploaded_at  # api/attachments/service.py
_.rated_by_id  # api/tickets/lifecycle.py, api/demo.py
_.resolved_by_id  # sync/conflicts.py

# uvicorn's uvicorn.run("api.edge.serve:app_factory", factory=True) names it in a string.
_.app_factory
_.should_exit  # uvicorn.Server: set to stop it (tests/helpers.py, bench/sync_bench.py)
_.force_exit

# openpyxl cell and sheet properties (api/imports/template.py, api/reports/).
_.number_format
_.alignment
_.freeze_panes
_.fill

# Standard library and requests/urllib3 settings, set to change their behaviour.
_.disabled  # logging.Logger (api/ops/logs.py)
_.pool_classes_by_scheme  # urllib3 PoolManager (sync/push_endpoints.py)
_.trust_env  # requests.Session
_.daemon_threads  # socketserver (tests/fakepush.py)
_.close_connection  # http.server handler
_.conf  # tests/test_webpush.py
_.exc_type  # __exit__ parameters (tests/fakepush.py)
_.tb

# Records of what a test double saw, kept whole for a failing test's message.
_.received_at  # tests/fakepush.py
_.body_length
_.other_station  # tests/test_stations.py (StationWorld)
_.restore_logging  # tests/test_ops_http.py: a fixture asked for by its side effect

# The demo county's data, being split into data files (issue 15, item 4): the count of Nanhe's
# union members is data the builder does not read yet. Drop the entry with the split.
_.NANHE_MEMBERS

# Scope fields filled at sign-in and not read today (listed in the layout report for a decision).
_.served_grid_ids
_.token_kind
