"""The edge: the processes and protocols around the domain. The Starlette app and its HTTP and
WebSocket routes, the GraphQL view, the command line and the worker compose the domain areas
(api/*), the sync layer (sync/) and the GraphQL schema (schema/); nothing below imports the edge
(docs/architecture.md, tests/test_layers.py)."""
