"""Every table of the sync layer, imported once so that the metadata is complete."""
