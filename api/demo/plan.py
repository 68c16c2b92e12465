"""The demo county's enterprises, planned before anything is written: pure and deterministic
(the same seed gives the same names, credit codes and headcounts on every machine)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from api.demo.records import County, county
from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char

DEMO_SEED = 2023


@dataclass(frozen=True)
class EnterpriseSpec:
    name: str
    credit_code: str
    headcount: int
    industry: str
    area: str  # a town or park code
    address: str
    has_union: bool
    direct_report: bool
    union_members: int = 0


def park_town(data: County) -> dict[str, str]:
    """Park code -> the code of its town."""
    return {park.code: park.town for park in data.parks}


def _credit_code(rng: random.Random, region: str, used: set[str]) -> str:
    # 9 (registered by market regulation) 1 (enterprise) + the county's region code + 9 chars.
    while True:
        body = f"91{region}" + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
        code = body + credit_check_char(body)
        if code not in used:
            used.add(code)
            return code


def _address(rng: random.Random, data: County, area: str) -> str:
    parks = park_town(data)
    town_code = parks.get(area, area)
    town = next(t.name for t in data.towns if t.code == town_code)
    park = next((p.name for p in data.parks if p.code == area), "")
    number = rng.randint(1, 288)
    return data.sheyang_address.format(
        where=town + park, road=rng.choice(data.roads), number=number
    )


def plan_enterprises(seed: int = DEMO_SEED) -> tuple[list[EnterpriseSpec], list[EnterpriseSpec]]:
    """Sheyang's 539 enterprises (29 big, 510 small over 62 joint grids) and Nanhe's nine."""
    data = county()
    parks = park_town(data)
    short = {town.code: town.short for town in data.towns}
    rng = random.Random(seed)
    codes: set[str] = set()
    names = {e.name for e in data.independent}
    sheyang = [
        EnterpriseSpec(
            name=e.name,
            credit_code=_credit_code(rng, data.region, codes),
            headcount=e.headcount,
            industry=e.industry,
            area=e.area,
            address=_address(rng, data, e.area),
            has_union=True,
            direct_report=i < data.direct_report_points,
        )
        for i, e in enumerate(data.independent)
    ]
    # Every joint grid gets at least two enterprises; parks and the two economic zones more.
    per_grid = [2] * len(data.joint_grids)
    weights = [
        3.0 if area in parks else 1.5 if area in {"SY-T14", "SY-T15"} else 1.0
        for area, _ in data.joint_grids
    ]
    extra = data.joint_enterprises - sum(per_grid)
    for i in rng.choices(range(len(data.joint_grids)), weights, k=extra):
        per_grid[i] += 1
    for (area, industry), count in zip(data.joint_grids, per_grid, strict=True):
        town = short[parks.get(area, area)]
        for _ in range(count):
            while True:
                prefix = rng.choice(("射阳", "射阳", "盐城", "江苏", town))
                word = rng.choice(data.industry_words[industry])
                name = f"{prefix}{rng.choice(data.brands)}{word}有限公司"
                if name not in names:
                    names.add(name)
                    break
            sheyang.append(
                EnterpriseSpec(
                    name=name,
                    credit_code=_credit_code(rng, data.region, codes),
                    headcount=min(199, int(rng.triangular(6, 199, 35))),
                    industry=industry,
                    area=area,
                    address=_address(rng, data, area),
                    has_union=rng.random() < 0.86,
                    direct_report=False,
                )
            )
    nanhe = [
        EnterpriseSpec(
            name=e.name,
            credit_code=_credit_code(rng, data.xiangshui_region, codes),
            headcount=e.headcount,
            industry=e.industry,
            area=data.nanhe_code,
            address=data.nanhe_address.format(
                number=rng.randint(1, 88), road=rng.choice(data.roads)
            ),
            has_union=True,
            direct_report=False,
            union_members=e.union_members,
        )
        for e in data.nanhe
    ]
    return sheyang, nanhe
