"""Accounts an admin runs: deactivation, one-time sign-in codes, roles and grids, the audit log."""
