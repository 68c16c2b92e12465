"""The GraphQL schema: one module per area, composed here."""
