"""Bringing a county in from its own spreadsheets: grids, enterprises, members."""
