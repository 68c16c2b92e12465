"""Running the API in production: compressed answers, metrics, structured logs, request ids."""
