"""The demo county: Sheyang's grids, enterprises and tickets, and Nanhe's guidance station.

Built from the source article's own figures so that a new user sees a believable county: 15
towns, 539 enterprises in 29 independent and 62 joint grids, 53 worker requests closed with
everyone satisfied, a station with six rooms, 821 members, more than 50 activities and 1.8
million yuan of start-up loans — named in Chinese, as the county would enter them.

The records are data files (``data/*.json``, read by ``records``); ``plan`` lays out the
enterprises (pure, seeded); ``builder`` writes the county, ``station`` the station's life and
``tickets`` the tickets through the ticket lifecycle. ``load_demo`` is idempotent (a county
grid "SY" means it is loaded: nothing is written) and deterministic (seeded generators: names,
phones and credit codes are the same every run).
"""

from api.demo.accounts import DEMO_PASSWORD, DemoAccount, demo_accounts
from api.demo.builder import load_demo
from api.demo.plan import EnterpriseSpec, plan_enterprises
from api.demo.summary import DemoSummary, demo_summary

__all__ = [
    "DEMO_PASSWORD",
    "DemoAccount",
    "DemoSummary",
    "EnterpriseSpec",
    "demo_accounts",
    "demo_summary",
    "load_demo",
    "plan_enterprises",
]
