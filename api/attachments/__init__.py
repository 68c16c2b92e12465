"""Photos, documents and voice notes on a ticket: records synced like the others, bytes
uploaded resumably and served with thumbnails (docs/sync-protocol.md, Attachments)."""
