"""The two evaluations of an enterprise union chair ("four doubles"): the town union rates the
chair against the union standardisation criteria, the members against the "model workers'
home" criteria. Each criterion is scored on the same fixed scale."""

from __future__ import annotations

from api.stations.models import EvaluatorKind

SCALE_MIN = 1
SCALE_MAX = 5

# code → what the evaluator judges (shown to the evaluator; codes are stable for clients).
CRITERIA: dict[EvaluatorKind, dict[str, str]] = {
    # 工会规范化建设: the union standardisation criteria.
    EvaluatorKind.TOWN_UNION: {
        "ORGANISATION": "The union committee is elected on time and its posts are filled",
        "RULES": "Meetings, records and files are kept as the rules require",
        "COLLECTIVE_CONSULTATION": "Collective wage consultation is held and the contract kept",
        "DEMOCRATIC_MANAGEMENT": "The workers' congress meets and factory affairs are open",
        "RIGHTS_PROTECTION": "Disputes are prevented and members' rights defended",
        "FUNDS": "Union funds are collected and used properly",
    },
    # 模范职工之家: the "model workers' home" criteria, as members see their chair.
    EvaluatorKind.MEMBER: {
        "CARE": "Cares for members in difficulty",
        "VOICE": "Listens to members and passes their views on",
        "RIGHTS": "Stands up for members' rights at work",
        "ACTIVITIES": "Organises cultural and sports activities",
        "SKILLS": "Helps members learn skills and grow",
        "OPENNESS": "Is open about union affairs and accounts",
    },
}
