"""The demo county: Sheyang's grids, enterprises and tickets, and Nanhe's guidance station.

Built from the source article's own figures so that a new user sees a
believable county: 15 towns, 539 enterprises in 29 independent and 62 joint grids, 53 worker
requests closed with everyone satisfied, a station with six rooms, 821 members, more than 50
activities and 1.8 million yuan of start-up loans.

`load_demo` is idempotent (a county grid "SY" means it is loaded: nothing is written) and
deterministic (seeded generators: names, phones and credit codes are the same every run). It
writes through the domain services where they carry rules (grids, the grid rule, ticket
numbers, the demo accounts) and adds plain rows directly where only speed matters.
"""

from __future__ import annotations

import random
import statistics
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_password
from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char
from api.enterprises.models import Enterprise
from api.enterprises.service import register_enterprise
from api.grids.models import Grid, GridKind
from api.grids.service import create_grid
from api.members.models import Member, MemberGrid, MemberStation, Role
from api.members.service import create_member
from api.records import utcnow
from api.stations.criteria import CRITERIA
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    Attendance,
    CoachingRequest,
    CoachingStatus,
    Evaluation,
    EvaluatorKind,
    Room,
    RoomKind,
    Station,
    StationActivity,
)
from api.tickets.deadlines import PolicyBook, start_clocks
from api.tickets.lifecycle import TIERS, enter_status
from api.tickets.models import (
    OPEN_STATUSES,
    Severity,
    Ticket,
    TicketComment,
    TicketSource,
    TicketStatus,
    Tier,
)
from api.tickets.service import record_event, report_ticket
from api.warnings.service import refresh_all_risk_levels

DEMO_PASSWORD = "gridlink-demo"
DEMO_SEED = 2023
SHEYANG = "SY"
XIANGSHUI = "XS"
NANHE = "XS-T01"
# Activities and tickets happen in local working hours (China Standard Time, no DST).
CST = timezone(timedelta(hours=8), "CST")

# ---------------------------------------------------------------------------------------------
# Accounts

# The demo liaison's grid: a joint grid that gets several of the open tickets below.
DEMO_LIAISON_GRID = ("SY-T01", "Garments")


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    name: str
    phone: str
    password: str
    sees: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        Role.ADMIN,
        "Demo Administrator",
        "13800000000",
        DEMO_PASSWORD,
        "everything; manages accounts, the grid tree and enterprises",
    ),
    DemoAccount(
        Role.COUNTY_STAFF,
        "Xu Jianhua",
        "13800000001",
        DEMO_PASSWORD,
        "the whole county (Sheyang County Federation of Trade Unions): every grid, enterprise "
        "and ticket; handles tickets escalated to the county station and court mediation",
    ),
    DemoAccount(
        Role.TOWN_STAFF,
        "Wang Haiyan",
        "13800000002",
        DEMO_PASSWORD,
        "Hede Town (合德镇): its park, grids, enterprises and tickets; dispatches them and "
        "handles those escalated to the town union",
    ),
    DemoAccount(
        Role.LIAISON,
        "Li Zhiqiang",
        "13800000003",
        DEMO_PASSWORD,
        "the Hede Town garments joint grid: its enterprises and their open tickets, several "
        "assigned to this liaison",
    ),
    DemoAccount(
        Role.CHAIR,
        "Chen Guilan",
        "13800000004",
        DEMO_PASSWORD,
        "the Nanhe guidance station as the Dadi Jiufeng union chair: rooms, activities, "
        "coaching requests and the evaluations of this chair",
    ),
    DemoAccount(
        Role.MEMBER,
        "Liu Xiaomei",
        "13800000005",
        DEMO_PASSWORD,
        "the Nanhe guidance station as a Dadi Jiufeng union member: activities and own "
        "sign-ins; rates the chair",
    ),
)


def demo_accounts() -> list[DemoAccount]:
    """The accounts `gridlink demo` prints: one per role, all with DEMO_PASSWORD."""
    return list(DEMO_ACCOUNTS)


# ---------------------------------------------------------------------------------------------
# The grid tree

# Sheyang's 15 towns and districts (镇区): code, English name, Chinese name.
TOWNS: tuple[tuple[str, str, str], ...] = (
    ("SY-T01", "Hede Town", "合德镇"),
    ("SY-T02", "Linhai Town", "临海镇"),
    ("SY-T03", "Qianqiu Town", "千秋镇"),
    ("SY-T04", "Siming Town", "四明镇"),
    ("SY-T05", "Haihe Town", "海河镇"),
    ("SY-T06", "Haitong Town", "海通镇"),
    ("SY-T07", "Xingqiao Town", "兴桥镇"),
    ("SY-T08", "Xintan Town", "新坍镇"),
    ("SY-T09", "Changdang Town", "长荡镇"),
    ("SY-T10", "Panwan Town", "盘湾镇"),
    ("SY-T11", "Teyong Town", "特庸镇"),
    ("SY-T12", "Yangma Town", "洋马镇"),
    ("SY-T13", "Huangshagang Town", "黄沙港镇"),
    ("SY-T14", "Sheyang Economic Development Zone", "射阳经济开发区"),
    ("SY-T15", "Sheyang Port Economic Zone", "射阳港经济区"),
)

# Industrial parks (big grids, 大网格): code, town code, English name, Chinese name. The
# textile dyeing park runs the "1314" grid mechanism; the model enterprise is in it.
PARKS: tuple[tuple[str, str, str, str], ...] = (
    ("SY-T14-P1", "SY-T14", "Yancheng High-end Textile Dyeing Park", "盐城市高端纺织染整园"),
    ("SY-T14-P2", "SY-T14", "Sheyang Machinery and Auto Parts Park", "机械装备产业园"),
    ("SY-T15-P1", "SY-T15", "Sheyang Port New Energy Equipment Park", "射阳港新能源装备产业园"),
    ("SY-T01-P1", "SY-T01", "Sheyang Agricultural Products Processing Park", "农产品加工园"),
    ("SY-T13-P1", "SY-T13", "Huangshagang Aquatic Products Processing Park", "黄沙港水产品加工园"),
)
PARK_TOWN = {code: town for code, town, _, _ in PARKS}

# The 62 joint grids (联合网格): one per area (town or park) and industry; the grid rule makes
# each when its first enterprise under 200 staff registers there.
JOINT_GRIDS: tuple[tuple[str, str], ...] = (
    ("SY-T14-P1", "Textiles"),
    ("SY-T14-P1", "Dyeing & finishing"),
    ("SY-T14-P1", "Garments"),
    ("SY-T14-P2", "Machinery"),
    ("SY-T14-P2", "Auto parts"),
    ("SY-T14-P2", "Electronics"),
    ("SY-T15-P1", "New energy"),
    ("SY-T15-P1", "Logistics"),
    ("SY-T01-P1", "Food processing"),
    ("SY-T01-P1", "Rice & grain processing"),
    ("SY-T13-P1", "Aquatic products"),
    ("SY-T13-P1", "Cold-chain logistics"),
    ("SY-T01", "Garments"),
    ("SY-T01", "Electronics"),
    ("SY-T01", "Construction materials"),
    ("SY-T01", "Printing & packaging"),
    ("SY-T02", "Food processing"),
    ("SY-T02", "Machinery"),
    ("SY-T02", "Construction materials"),
    ("SY-T02", "Aquatic products"),
    ("SY-T03", "Aquatic products"),
    ("SY-T03", "Food processing"),
    ("SY-T03", "Construction materials"),
    ("SY-T04", "Textiles"),
    ("SY-T04", "Machinery"),
    ("SY-T04", "Wood products"),
    ("SY-T05", "Textiles"),
    ("SY-T05", "Garments"),
    ("SY-T05", "Food processing"),
    ("SY-T06", "Machinery"),
    ("SY-T06", "Rice & grain processing"),
    ("SY-T06", "Construction materials"),
    ("SY-T06", "Electronics"),
    ("SY-T07", "Textiles"),
    ("SY-T07", "Machinery"),
    ("SY-T07", "Printing & packaging"),
    ("SY-T08", "Food processing"),
    ("SY-T08", "Garments"),
    ("SY-T08", "Construction materials"),
    ("SY-T08", "Machinery"),
    ("SY-T09", "Machinery"),
    ("SY-T09", "Textiles"),
    ("SY-T09", "Wood products"),
    ("SY-T09", "Food processing"),
    ("SY-T10", "Rice & grain processing"),
    ("SY-T10", "Food processing"),
    ("SY-T10", "Construction materials"),
    ("SY-T11", "Textiles"),
    ("SY-T11", "Garments"),
    ("SY-T11", "Machinery"),
    ("SY-T12", "Medicinal herbs"),
    ("SY-T12", "Food processing"),
    ("SY-T12", "Garments"),
    ("SY-T13", "Shipbuilding & repair"),
    ("SY-T13", "Construction materials"),
    ("SY-T14", "Logistics"),
    ("SY-T14", "New materials"),
    ("SY-T14", "Printing & packaging"),
    ("SY-T14", "Pharmaceuticals"),
    ("SY-T15", "Chemicals"),
    ("SY-T15", "Shipbuilding & repair"),
    ("SY-T15", "Construction materials"),
)
JOINT_ENTERPRISES = 510

# The 29 enterprises with 200 or more staff (独立网格): name, industry, area, headcount. The
# first 18 are the key enterprises above designated size that are direct report points.
INDEPENDENT_ENTERPRISES: tuple[tuple[str, str, str, int], ...] = (
    ("Shanghai Tiqiao (Jiangsu) Textile Co., Ltd.", "Textiles", "SY-T14-P1", 1180),
    ("Jiangsu Hengrun Dyeing & Finishing Co., Ltd.", "Dyeing & finishing", "SY-T14-P1", 640),
    ("Yancheng Huaxin Textile Technology Co., Ltd.", "Textiles", "SY-T14-P1", 520),
    ("Sheyang Jinfeng Garments Co., Ltd.", "Garments", "SY-T14-P1", 410),
    ("Jiangsu Ruida Printing & Dyeing Co., Ltd.", "Dyeing & finishing", "SY-T14-P1", 355),
    ("Sheyang Zhongcheng Machinery Co., Ltd.", "Machinery", "SY-T14-P2", 480),
    ("Jiangsu Tengda Auto Parts Co., Ltd.", "Auto parts", "SY-T14-P2", 620),
    ("Yancheng Kaiyuan Electronics Co., Ltd.", "Electronics", "SY-T14-P2", 390),
    ("Jiangsu Haifeng Wind Power Equipment Co., Ltd.", "New energy", "SY-T15-P1", 860),
    ("Sheyang Port Blade Technology Co., Ltd.", "New energy", "SY-T15-P1", 540),
    ("Jiangsu Yuanhang Heavy Industry Co., Ltd.", "New energy", "SY-T15-P1", 300),
    ("Sheyang Tianyi Rice Industry Co., Ltd.", "Rice & grain processing", "SY-T01-P1", 260),
    ("Jiangsu Hefeng Food Co., Ltd.", "Food processing", "SY-T01-P1", 330),
    ("Huangshagang Haixian Aquatic Products Co., Ltd.", "Aquatic products", "SY-T13-P1", 280),
    ("Jiangsu Dongfang Marine Food Co., Ltd.", "Aquatic products", "SY-T13-P1", 240),
    ("Sheyang Xinhe Pharmaceutical Co., Ltd.", "Pharmaceuticals", "SY-T14", 450),
    ("Jiangsu Baorun New Materials Co., Ltd.", "New materials", "SY-T14", 310),
    ("Sheyang Hongtai Textile Co., Ltd.", "Textiles", "SY-T07", 370),
    ("Jiangsu Lianfa Garments Co., Ltd.", "Garments", "SY-T05", 290),
    ("Sheyang Jiali Electronics Co., Ltd.", "Electronics", "SY-T01", 260),
    ("Yancheng Xinghai Machinery Co., Ltd.", "Machinery", "SY-T06", 230),
    ("Sheyang Changsheng Wood Products Co., Ltd.", "Wood products", "SY-T09", 215),
    ("Jiangsu Fuyuan Cotton Spinning Co., Ltd.", "Textiles", "SY-T04", 340),
    ("Sheyang Panwan Grain & Oil Co., Ltd.", "Rice & grain processing", "SY-T10", 205),
    ("Jiangsu Teyong Knitwear Co., Ltd.", "Garments", "SY-T11", 250),
    ("Sheyang Yangma Chrysanthemum Biotech Co., Ltd.", "Medicinal herbs", "SY-T12", 210),
    ("Sheyang Port Logistics Group Co., Ltd.", "Logistics", "SY-T15", 270),
    ("Jiangsu Haiyun Shipbuilding Co., Ltd.", "Shipbuilding & repair", "SY-T13", 320),
    ("Sheyang Lvyuan Building Materials Co., Ltd.", "Construction materials", "SY-T02", 225),
)
DIRECT_REPORT_POINTS = 18
MODEL_ENTERPRISE = INDEPENDENT_ENTERPRISES[0][0]

# Words for the names of the smaller enterprises, per industry.
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "Textiles": ("Textile", "Spinning", "Weaving", "Yarn", "Home Textiles"),
    "Dyeing & finishing": ("Dyeing & Finishing", "Printing & Dyeing", "Textile Finishing"),
    "Garments": ("Garments", "Apparel", "Knitwear", "Clothing"),
    "Machinery": ("Machinery", "Machine Tools", "Precision Machinery", "Hydraulics"),
    "Auto parts": ("Auto Parts", "Auto Components", "Brake Systems", "Vehicle Fittings"),
    "Electronics": ("Electronics", "Electronic Components", "Circuit Technology", "Cable"),
    "New energy": ("New Energy", "Wind Power Components", "Photovoltaic", "Energy Equipment"),
    "Logistics": ("Logistics", "Freight", "Supply Chain", "Warehousing"),
    "Food processing": ("Food", "Foodstuffs", "Bakery", "Seasonings"),
    "Rice & grain processing": ("Rice Industry", "Grain & Oil", "Flour Mill", "Grain Storage"),
    "Aquatic products": ("Aquatic Products", "Seafood", "Marine Foods", "Fisheries"),
    "Cold-chain logistics": ("Cold Chain", "Cold Storage", "Refrigerated Logistics"),
    "Construction materials": ("Building Materials", "Concrete", "Wall Materials", "Steel Works"),
    "Printing & packaging": ("Packaging", "Printing", "Paper Products", "Carton"),
    "Wood products": ("Wood Industry", "Furniture", "Timber", "Wooden Doors"),
    "Medicinal herbs": ("Chrysanthemum", "Herbal Products", "Medicinal Materials"),
    "Shipbuilding & repair": ("Ship Repair", "Shipbuilding", "Marine Engineering"),
    "New materials": ("New Materials", "Composite Materials", "Polymer"),
    "Pharmaceuticals": ("Pharmaceutical", "Biotech", "Medical Devices"),
    "Chemicals": ("Chemical", "Coatings", "Fine Chemicals"),
}
BRANDS = (
    "Anda", "Baisheng", "Boyuan", "Changfeng", "Chenguang", "Dahua", "Dexin", "Dingsheng",
    "Fengyuan", "Fuhai", "Fulai", "Guangyu", "Haichuan", "Haixing", "Hengfeng", "Hexin",
    "Hongtai", "Huaxing", "Jiahe", "Jiayu", "Jinding", "Jinqiao", "Junda", "Kaixuan",
    "Kangning", "Lanhai", "Lianyi", "Longteng", "Meida", "Minghui", "Nuode", "Pengcheng",
    "Qiancheng", "Qiming", "Ruifeng", "Runze", "Sanhe", "Shunda", "Tairun", "Tengfei",
    "Tongda", "Wanrun", "Weiye", "Xiangrui", "Xinghui", "Xinlong", "Xinyu", "Yaxing",
    "Yida", "Yinhe", "Yongfeng", "Yuanda", "Yuesheng", "Zhongtian", "Zhuoyue", "Jiali",
    "Baifu", "Dingtai", "Hengxin", "Ruixiang", "Shengda", "Tianrun", "Xieli", "Zhenghe",
)  # fmt: skip
ROADS = (
    "Xingfu", "Jiefang", "Renmin", "Heping", "Yingbin", "Gongye", "Chuangye", "Wenhua",
    "Xinyuan", "Haibin", "Gangcheng", "Dongfang", "Changjiang", "Huanghai", "Kaifa", "Keji",
)  # fmt: skip

# Nanhe Town's nine non-public enterprise unions (821 members): name, industry, headcount,
# union members. The first hosts the guidance station.
NANHE_ENTERPRISES: tuple[tuple[str, str, int, int], ...] = (
    ("Xiangshui Dadi Jiufeng Agricultural Development Co., Ltd.", "Modern agriculture", 246, 228),
    ("Nanhe Xinyuan Garments Co., Ltd.", "Textiles & garments", 168, 152),
    ("Xiangshui Fengshou Rice Industry Co., Ltd.", "Agricultural products processing", 96, 88),
    ("Nanhe Greenleaf Vegetables Co., Ltd.", "Agricultural products processing", 84, 77),
    ("Xiangshui Hengxin Wood Products Co., Ltd.", "Wood products", 72, 64),
    ("Nanhe Jinhe Electronics Co., Ltd.", "Electronics", 88, 80),
    ("Xiangshui Huamei Textile Co., Ltd.", "Textiles & garments", 61, 55),
    ("Nanhe Mingguang Machinery Co., Ltd.", "Machinery", 47, 41),
    ("Xiangshui Nongfeng Farm Machinery Services Co., Ltd.", "Machinery", 40, 36),
)
NANHE_MEMBERS = 821
# The station's two heads (双站长): the town party deputy secretary, the town union chair.
STATION_HEADS = ("Sun Guoqiang", "Zhou Lihua")
MODEL_WORKER = "Zhang Delan"  # national advanced worker; her studio is at Dadi Jiufeng

# ---------------------------------------------------------------------------------------------
# People

SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun",
    "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo", "Liang", "Song", "Zheng", "Xie",
    "Han", "Tang", "Feng", "Yu", "Dong", "Xiao", "Cheng", "Cao", "Yuan", "Deng", "Fu", "Shen",
    "Zeng", "Peng", "Su", "Lu", "Jiang", "Cai", "Jia", "Ding", "Wei", "Xue", "Ye", "Yan",
    "Pan", "Du", "Dai", "Xia", "Zhong", "Tian", "Ren", "Fan", "Fang", "Shi", "Yao", "Tan",
    "Zou", "Xiong", "Jin", "Hao", "Kong", "Bai", "Cui", "Kang", "Mao", "Qiu", "Qin", "Gu",
    "Hou", "Shao", "Meng", "Qian", "Yin", "Chang", "Gong", "Wen",
)  # fmt: skip
GIVEN = (
    "Jian", "Guo", "Hua", "Ming", "Li", "Hong", "Jun", "Wei", "Fang", "Xia", "Yan", "Ping",
    "Qiang", "Lei", "Tao", "Jing", "Yun", "Hai", "Bo", "Chao", "Dong", "Feng", "Gang", "Hui",
    "Juan", "Lan", "Mei", "Na", "Qing", "Rong", "Shan", "Ting", "Xin", "Xiu", "Ying", "Yu",
    "Zhen", "Zhi", "Cheng", "De", "Fu", "Gui", "Hao", "Kai", "Liang", "Min", "Ning", "Peng",
    "Rui", "Song", "Wen", "Xiang", "Yong", "Zhong", "Bin", "Chun", "Jie", "Lin", "Qin", "Tian",
)  # fmt: skip
PHONE_PREFIXES = (
    "133", "135", "136", "137", "139", "150", "151", "152", "155", "157", "158", "159",
    "177", "180", "181", "182", "187", "188", "189", "199",
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Tickets

# The reasons given when a ticket goes up a tier.
ESCALATION_NOTES = {
    Tier.TOWN: "Not settled in the enterprise or the grid; passed to the town union.",
    Tier.COUNTY_STATION: (
        "Passed to the county main station (援法议事·枫桥驿站) for mediation with public lawyers."
    ),
    Tier.COURT_MEDIATION: (
        "Referred to the union + court + public lawyers litigation-mediation link."
    ),
}
MEDIATION_NOTE = "Both sides invited to mediation."
PORT_SERVICE_CENTRE = (
    "Sheyang Port Comprehensive Service Centre, a Fengqiao-style worker service site"
)


class WorkerRequest(NamedTuple):
    category: str
    title: str
    description: str
    resolution: str


# Closed worker requests (职工诉求): 53 are drawn from these, each closed with a rating of 4 or 5.
WORKER_REQUESTS: tuple[WorkerRequest, ...] = (
    WorkerRequest(
        "WAGES",
        "Last month's wages not paid on payday",
        "Several line workers say last month's wages are two weeks late.",
        "The liaison met the finance manager; wages paid within three days and a fixed "
        "payday put in writing.",
    ),
    WorkerRequest(
        "WAGES",
        "Wage arrears after the subcontractor left",
        "Workers hired through a subcontractor were not paid when it left the site.",
        "The main enterprise agreed to pay the arrears directly; every worker paid in full.",
    ),
    WorkerRequest(
        "WAGES",
        "Piece rate cut without consultation",
        "The piece rate on the packing line was cut by a tenth without asking the union.",
        "Rate restored after a collective wage consultation with the enterprise union.",
    ),
    WorkerRequest(
        "OVERTIME",
        "Weekend overtime not paid at double rate",
        "Saturday shifts are paid at the normal hourly rate.",
        "Overtime recalculated for the last three months and the difference paid; rates "
        "posted in the workshop.",
    ),
    WorkerRequest(
        "OVERTIME",
        "Overtime above the legal limit in the peak season",
        "Workers report more than 80 hours of overtime a month since the autumn orders.",
        "Shift plan changed to two shifts; overtime back under 36 hours a month.",
    ),
    WorkerRequest(
        "SOCIAL_INSURANCE",
        "Social insurance not paid for new hires",
        "New hires from the spring intake have no social insurance after three months.",
        "All new hires enrolled and the missed contributions paid.",
    ),
    WorkerRequest(
        "SOCIAL_INSURANCE",
        "Housing provident fund contributions missing",
        "Payslips show a deduction for the provident fund but the fund shows no payment.",
        "Enterprise paid the missing contributions; the union checks the statements quarterly.",
    ),
    WorkerRequest(
        "CONTRACT",
        "No written labour contract after probation",
        "Eleven workers still have no written contract months after probation ended.",
        "Written contracts signed with all eleven workers.",
    ),
    WorkerRequest(
        "CONTRACT",
        "Contract renewal refused without a reason",
        "A worker with eight years of service was told his contract would not be renewed.",
        "After mediation by the liaison the contract was renewed as an open-ended contract.",
    ),
    WorkerRequest(
        "WORK_INJURY",
        "Employer has not filed a work-injury claim",
        "A worker hurt his back lifting bales; the employer has not filed the claim.",
        "Liaison helped file the claim; the injury was recognised by the county HR and social "
        "security bureau.",
    ),
    WorkerRequest(
        "WORK_INJURY",
        "Medical costs of a hand injury not reimbursed",
        "Medical bills after a hand injury at a press were not reimbursed.",
        "Costs reimbursed in full; guard fitted to the press.",
    ),
    WorkerRequest(
        "FOOD_SAFETY",
        "Canteen food stale and unhygienic",
        "Workers complain about stale food and dirty trays in the staff canteen.",
        "Canteen contractor replaced; the enterprise union now inspects the canteen weekly.",
    ),
    WorkerRequest(
        "FOOD_SAFETY",
        "Canteen prices raised without notice",
        "Meal prices went up by a third overnight with no notice to workers.",
        "Prices set back after talks; changes now go to the workers' congress first.",
    ),
    WorkerRequest(
        "SAFETY",
        "No protective equipment at the dyeing vats",
        "Workers at the vats have no gloves, goggles or aprons.",
        "Protective equipment issued and safety training held for the whole shift.",
    ),
    WorkerRequest(
        "SAFETY",
        "Workshop too hot, no high-temperature allowance",
        "The weaving shed is above 35 °C in summer and no allowance is paid.",
        "Cooling fans installed; the high-temperature allowance paid for June to September.",
    ),
    WorkerRequest(
        "LEAVE",
        "Annual paid leave refused",
        "Requests for annual leave have been refused for two years.",
        "Leave schedule agreed; untaken leave paid at 300 %.",
    ),
    WorkerRequest(
        "LEAVE",
        "Maternity leave pay withheld",
        "A worker on maternity leave has received no pay since her leave began.",
        "Maternity allowance paid from the social insurance fund and her job kept open.",
    ),
    WorkerRequest(
        "DISMISSAL",
        "Dismissed without severance pay",
        "A worker was dismissed after a dispute with a foreman, with no severance pay.",
        "Statutory severance paid after mediation with the enterprise.",
    ),
    WorkerRequest(
        "HOUSING",
        "Dormitory without hot water",
        "The workers' dormitory has had no hot water for a month.",
        "Water heaters repaired; the dormitory added to the union's monthly check.",
    ),
    WorkerRequest(
        "WORKING_HOURS",
        "Made to work on public holidays without pay",
        "Workers were told to work on the National Day holiday at the normal rate.",
        "Holiday work paid at triple rate and made voluntary.",
    ),
    WorkerRequest(
        "TRAINING",
        "Training fee deducted from wages",
        "The fee for a skills-certificate course was deducted from wages.",
        "Fee refunded; training costs now borne by the enterprise.",
    ),
    WorkerRequest(
        "COMMUTE",
        "Shuttle bus to the park cancelled",
        "The morning shuttle from the town to the park was cancelled without notice.",
        "Shuttle restored on the morning and evening routes.",
    ),
)
RATING_COMMENTS = (
    "Thank you, the money has arrived.",
    "The liaison came the same day. Very satisfied.",
    "Solved quickly, thanks to the union.",
    "Good result, took a little long.",
    "Satisfied with how it was handled.",
    None,
    None,
)


class OpenTicket(NamedTuple):
    source: TicketSource
    status: TicketStatus
    tier: Tier
    severity: Severity
    category: str
    title: str
    description: str
    # ("joint", area code, industry), ("big", enterprise name) or ("town", town code).
    target: tuple[str, ...]
    age_hours: float
    comment: str | None = None


# The moves after the ticket is taken (and escalated) that lead to each further status.
LAST_MOVES: dict[TicketStatus, tuple[TicketStatus, ...]] = {
    TicketStatus.WAITING_ON_WORKER: (TicketStatus.WAITING_ON_WORKER,),
    TicketStatus.MEDIATING: (TicketStatus.MEDIATING,),
    TicketStatus.RESOLVED: (TicketStatus.RESOLVED,),
    TicketStatus.REOPENED: (TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REOPENED),
    TicketStatus.WITHDRAWN: (TicketStatus.WITHDRAWN,),
}
_HEDE_GARMENTS = ("joint", *DEMO_LIAISON_GRID)
S, ST, T = TicketSource, TicketStatus, Tier
# Tickets of the last weeks: every source, every status but CLOSED (the 53 above are), every
# tier, every severity.
OPEN_TICKETS: tuple[OpenTicket, ...] = (
    OpenTicket(
        S.WORKER_REQUEST, ST.REPORTED, T.GRID, Severity.MEDIUM, "WAGES",
        "Piece-rate wages for last month not yet paid",
        "Sewing-line workers say last month's piece-rate wages are ten days late.",
        _HEDE_GARMENTS, 20,
    ),
    OpenTicket(
        S.RISK_HAZARD, ST.ASSIGNED, T.GRID, Severity.HIGH, "WAGES",
        "Orders down sharply; owner talks of closing the workshop",
        "Seen on a grid visit: two large orders cancelled, the owner mentioned closing after "
        "the holiday. About 60 workers; this month's wages are at risk.",
        _HEDE_GARMENTS, 50,
    ),
    OpenTicket(
        S.HOTLINE_12351, ST.ASSIGNED, T.GRID, Severity.MEDIUM, "OVERTIME",
        "12351 caller: Sunday overtime paid at the normal rate",
        "A caller to the 12351 hotline says Sunday shifts are paid at the weekday rate.",
        _HEDE_GARMENTS, 30,
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.IN_PROGRESS, T.GRID, Severity.LOW, "CONTRACT",
        "Seasonal workers have no written contracts",
        "Workers taken on for the winter orders were not given written contracts.",
        _HEDE_GARMENTS, 120,
        "Owner agrees to sign; contracts drafted with the town union's template.",
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.WAITING_ON_WORKER, T.GRID, Severity.LOW, "SOCIAL_INSURANCE",
        "Needs a statement of social insurance contributions",
        "A worker needs proof of contributions to buy a flat in town.",
        _HEDE_GARMENTS, 200,
        "Asked the worker for her ID card copy to request the statement.",
    ),
    OpenTicket(
        S.RISK_HAZARD, ST.IN_PROGRESS, T.GRID, Severity.HIGH, "SAFETY",
        "Steam valves leaking at the dyeing vats",
        "Found on the park's \"1314\" grid round: two steam valves leak next to the walkway of "
        "the dyeing line.",
        ("joint", "SY-T14-P1", "Dyeing & finishing"), 70,
        "Valves isolated; the park's safety officer will check the repair.",
    ),
    OpenTicket(
        S.DIRECT_REPORT, ST.ASSIGNED, T.GRID, Severity.MEDIUM, "WORKING_HOURS",
        "Direct report: twelve-hour shifts for the export orders",
        "The enterprise union reports twelve-hour shifts on two lines for the next month.",
        ("big", MODEL_ENTERPRISE), 40,
    ),
    OpenTicket(
        S.DIRECT_REPORT, ST.REPORTED, T.GRID, Severity.CRITICAL, "WAGES",
        "Direct report: subcontracted welders gathering at the gate over unpaid wages",
        "About 40 welders of a subcontractor gathered at the main gate; the subcontractor owes "
        "them two months' wages.",
        ("big", "Jiangsu Haifeng Wind Power Equipment Co., Ltd."), 3,
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.MEDIATING, T.TOWN, Severity.HIGH, "DISMISSAL",
        "Fourteen workers dismissed without severance",
        "A line was closed and fourteen workers dismissed with no severance pay.",
        ("joint", "SY-T01", "Electronics"), 260,
        "Mediation session at the town union set for Thursday with the owner.",
    ),
    OpenTicket(
        S.HOTLINE_12351, ST.MEDIATING, T.COUNTY_STATION, Severity.HIGH, "WAGES",
        "12351: wage arrears for 23 migrant workers on a building site",
        "A site foreman called the 12351 hotline: 23 migrant workers unpaid for four months.",
        ("town", "SY-T08"), 400,
        "Main contractor's payroll records obtained; public lawyer assigned.",
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.MEDIATING, T.COURT_MEDIATION, Severity.CRITICAL, "WORK_INJURY",
        "Compensation dispute after a fall from scaffolding",
        "A worker fell from scaffolding; the employer disputes the disability grade.",
        ("joint", "SY-T06", "Construction materials"), 900,
        "Pre-litigation mediation at the court's union mediation room next week.",
    ),
    OpenTicket(
        S.RISK_HAZARD, ST.REPORTED, T.GRID, Severity.MEDIUM, "SAFETY",
        "Fire exit blocked in the packing hall",
        "Pallets stacked against the fire exit of the packing hall.",
        ("joint", "SY-T14", "Printing & packaging"), 6,
    ),
    OpenTicket(
        S.HOTLINE_12351, ST.IN_PROGRESS, T.TOWN, Severity.MEDIUM, "SOCIAL_INSURANCE",
        "12351: social insurance deducted but not paid",
        "A caller says contributions are deducted from wages but not paid to the fund.",
        ("joint", "SY-T05", "Textiles"), 150,
        "Town union requested the contribution records from the tax bureau.",
    ),
    OpenTicket(
        S.RISK_HAZARD, ST.ASSIGNED, T.TOWN, Severity.HIGH, "WAGES",
        "Seafood processor behind on rent and wages",
        "The landlord reports three months of unpaid rent; wages are likely next.",
        ("joint", "SY-T13-P1", "Aquatic products"), 90,
    ),
    OpenTicket(
        S.DIRECT_REPORT, ST.IN_PROGRESS, T.COUNTY_STATION, Severity.HIGH, "WAGES",
        "Direct report: pay cut for 300 workers planned without consultation",
        "Management plans to cut the performance bonus of 300 workers from next month.",
        ("big", "Jiangsu Hengrun Dyeing & Finishing Co., Ltd."), 220,
        "County station convened a collective consultation with management and the union.",
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.ASSIGNED, T.GRID, Severity.MEDIUM, "FOOD_SAFETY",
        "Canteen meals cold and short since the new contractor",
        "Since the canteen changed contractor, meals are cold and portions small.",
        ("joint", "SY-T15-P1", "New energy"), 26,
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.IN_PROGRESS, T.GRID, Severity.MEDIUM, "WORK_INJURY",
        "Work-injury claim for a crushed finger not filed",
        "A press operator crushed a finger; the claim has not been filed after three weeks.",
        ("joint", "SY-T14-P2", "Machinery"), 100,
        "Collected the hospital records; the enterprise will file on Monday.",
    ),
    OpenTicket(
        S.HOTLINE_12351, ST.REPORTED, T.GRID, Severity.LOW, "LEAVE",
        "12351: annual leave refused for the third year",
        "A caller has been refused annual leave three years running.",
        ("joint", "SY-T09", "Wood products"), 10,
    ),
    OpenTicket(
        S.RISK_HAZARD, ST.IN_PROGRESS, T.GRID, Severity.MEDIUM, "SAFETY",
        "Weaving shed above 35 °C, no cooling allowance",
        "Temperature in the weaving shed above 35 °C in the afternoons.",
        ("joint", "SY-T07", "Textiles"), 60,
        "Fans ordered; allowance to be discussed at the workers' congress.",
    ),
    OpenTicket(
        S.DIRECT_REPORT, ST.ASSIGNED, T.TOWN, Severity.MEDIUM, "CONTRACT",
        "Direct report: agency workers' contracts end this month",
        "Contracts of 45 agency workers end this month with no word on renewal. Talks to be "
        f"held at the {PORT_SERVICE_CENTRE}.",
        ("big", "Sheyang Port Blade Technology Co., Ltd."), 80,
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.REPORTED, T.GRID, Severity.LOW, "HOUSING",
        "Dormitory has no hot water",
        "The dormitory's water heater has been broken for a week.",
        ("joint", "SY-T12", "Medicinal herbs"), 12,
    ),
    OpenTicket(
        S.RISK_HAZARD, ST.MEDIATING, T.GRID, Severity.HIGH, "WAGES",
        "Year-end bonus unpaid; workers threaten to stop work",
        "Workers say they will stop work if last year's bonus is not paid this week.",
        ("joint", "SY-T11", "Garments"), 130,
        "Grid mediation with the owner and worker representatives under way.",
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.RESOLVED, T.GRID, Severity.MEDIUM, "OVERTIME",
        "Night-shift allowance missing from the payslip",
        "Night-shift workers found no night allowance on last month's payslip.",
        _HEDE_GARMENTS, 160,
        "Allowance paid with the next wages; the worker will confirm before closing.",
    ),
    OpenTicket(
        S.WORKER_REQUEST, ST.REOPENED, T.GRID, Severity.MEDIUM, "WAGES",
        "Back pay promised after mediation has not arrived",
        "The owner agreed to pay the arrears in two parts; the second part never came.",
        ("joint", "SY-T03", "Food processing"), 340,
        "First part paid after mediation; reopened when the second part was missed.",
    ),
    OpenTicket(
        S.HOTLINE_12351, ST.WITHDRAWN, T.GRID, Severity.LOW, "LEAVE",
        "12351: marriage leave refused",
        "A caller was refused marriage leave; she later settled it with her supervisor.",
        ("joint", "SY-T02", "Food processing"), 90,
        "The caller withdrew the request: leave granted after she spoke to her supervisor.",
    ),
)  # fmt: skip
del S, ST, T

# ---------------------------------------------------------------------------------------------
# The guidance station

STATION_NAME = "Nanhe Town Non-public Enterprise Union Chairs' Practice Guidance Station"
ROOMS: tuple[tuple[RoomKind, str], ...] = (
    (RoomKind.FINANCE_FOR_FARMERS, "Finance for Farmers Room (金融助农)"),
    (RoomKind.RIGHTS_PROTECTION, "Rights Protection Room (权益维护)"),
    (RoomKind.GRID_SERVICE, "Grid Service Room (网格服务)"),
    (RoomKind.WOMEN_WORKERS, "Women Workers' Protection Room (女工保护)"),
    (RoomKind.IDEOLOGICAL_GUIDANCE, "Ideological Guidance Room (思想引领)"),
    (RoomKind.TECH_TRAINING, "Technology Training Room (科技培训)"),
)
K, R = ActivityKind, RoomKind


class ActivitySpec(NamedTuple):
    days_ago: int  # negative: planned
    kind: ActivityKind
    room: RoomKind
    title: str
    capacity: int
    outcome: str | None = None
    loans_yuan: int | None = None
    cancelled: bool = False


# "Big pot" (大锅): common problems collected from the unions, one lesson every quarter; the
# last is the next one, planned.
BIG_POT_TOPICS: tuple[tuple[RoomKind, str, str], ...] = (
    (
        R.IDEOLOGICAL_GUIDANCE,
        "Union standardisation: the checklist for enterprise unions",
        "All nine chairs scored their own union against the checklist.",
    ),
    (
        R.RIGHTS_PROTECTION,
        "Collective wage consultation step by step",
        "Three unions set dates for their first wage consultation.",
    ),
    (
        R.GRID_SERVICE,
        "Keeping union accounts and funds",
        "Common bookkeeping errors listed; a shared ledger template adopted.",
    ),
    (
        R.IDEOLOGICAL_GUIDANCE,
        "Workers' congress and openness of factory affairs",
        "Two unions scheduled a workers' congress for the next quarter.",
    ),
    (
        R.RIGHTS_PROTECTION,
        "Labour contracts for seasonal and field workers",
        "A short contract template for seasonal field work agreed.",
    ),
    (
        R.WOMEN_WORKERS,
        "Special protection of women workers",
        "Women workers' clauses added to four collective contracts.",
    ),
    (
        R.RIGHTS_PROTECTION,
        "Settling labour disputes inside the enterprise",
        "Each union named a mediation contact.",
    ),
    (
        R.GRID_SERVICE,
        "Bringing new-employment-form workers into the union",
        "Delivery riders and drivers in the town invited to join.",
    ),
    (
        R.IDEOLOGICAL_GUIDANCE,
        "Building a 'model workers' home'",
        "Criteria explained; members' evaluation form agreed.",
    ),
    (
        R.RIGHTS_PROTECTION,
        "Safety at work: the union's supervision role",
        "Safety walk-through checklist handed to every chair.",
    ),
    (R.IDEOLOGICAL_GUIDANCE, "Review of the year: common problems of the nine unions", ""),
)
BIG_POT_FIRST_DAYS_AGO = 45
QUARTER_DAYS = 91

# The other activities of the station (50+ in all with the big pots and the coaching visits).
# The LOANS rows add up to the 1.8 million yuan of start-up loans.
ACTIVITIES: tuple[ActivitySpec, ...] = (
    ActivitySpec(840, K.LOANS, R.FINANCE_FOR_FARMERS,
                 "Start-up loan day with the Postal Savings Bank", 40,
                 "Seven start-up loans approved, 350,000 yuan in all.", 350_000),
    ActivitySpec(700, K.LOANS, R.FINANCE_FOR_FARMERS,
                 "Kunshan Rural Commercial Bank credit day for family farms", 40,
                 "Six family farms received loans, 280,000 yuan in all.", 280_000),
    ActivitySpec(560, K.LOANS, R.FINANCE_FOR_FARMERS,
                 "Start-up loans for returning migrant workers", 50,
                 "Nine returning workers received start-up loans, 420,000 yuan in all.", 420_000),
    ActivitySpec(410, K.LOANS, R.FINANCE_FOR_FARMERS,
                 "Loan clinic for greenhouse growers", 30,
                 "Six greenhouse growers received loans, 300,000 yuan in all.", 300_000),
    ActivitySpec(250, K.LOANS, R.FINANCE_FOR_FARMERS,
                 "Government-bank-enterprise credit fair", 60,
                 "Five small businesses received loans, 250,000 yuan in all.", 250_000),
    ActivitySpec(90, K.LOANS, R.FINANCE_FOR_FARMERS,
                 "Start-up loans for women entrepreneurs", 30,
                 "Four women entrepreneurs received loans, 200,000 yuan in all.", 200_000),
    ActivitySpec(780, K.READING, R.IDEOLOGICAL_GUIDANCE, "Workers' Reading Festival", 80,
                 "Book corner opened in the station; 300 books donated."),
    ActivitySpec(415, K.READING, R.IDEOLOGICAL_GUIDANCE, "Second Workers' Reading Festival", 80,
                 "Reading contest held; ten readers awarded."),
    ActivitySpec(820, K.LEGAL_AID, R.RIGHTS_PROTECTION,
                 "'Respect and abide by the law, build dreams together': legal service for "
                 "migrant workers", 60, "Thirty-two consultations; four cases taken up."),
    ActivitySpec(640, K.LEGAL_AID, R.RIGHTS_PROTECTION,
                 "'Legal aid for the people, helping migrant workers' day", 60,
                 "Twenty-five consultations; two wage claims filed."),
    ActivitySpec(470, K.LEGAL_AID, R.RIGHTS_PROTECTION,
                 "Wage arrears clinic with public lawyers", 40,
                 "Eighteen consultations; three settled on the spot."),
    ActivitySpec(300, K.LEGAL_AID, R.RIGHTS_PROTECTION, "Labour contract check-up day", 40,
                 "Forty contracts checked; six unfair clauses found."),
    ActivitySpec(150, K.LEGAL_AID, R.RIGHTS_PROTECTION, "Legal aid desk at harvest time", 40,
                 "Legal aid desk staffed in the fields; twelve questions answered."),
    ActivitySpec(760, K.PUBLICITY, R.RIGHTS_PROTECTION,
                 "Legal publicity for migrant workers at the Nanhe market", 100,
                 "Leaflets handed out; the 12351 hotline explained."),
    ActivitySpec(520, K.PUBLICITY, R.IDEOLOGICAL_GUIDANCE,
                 "'New thought, workers speak' (新思想职工讲) talk", 80,
                 "Five workers spoke about their work and their town."),
    ActivitySpec(200, K.PUBLICITY, R.GRID_SERVICE,
                 "Opening of the Dadi Jiufeng caring station for nearby workers", 80,
                 "Caring station open daily: rest, water, first aid and phone charging."),
    ActivitySpec(730, K.COUNSELLING, R.WOMEN_WORKERS,
                 "Psychological counselling for women workers", 30,
                 "Group session with a counsellor; eight asked for follow-ups."),
    ActivitySpec(450, K.COUNSELLING, R.WOMEN_WORKERS,
                 "Counselling for mothers of left-behind children", 30,
                 "Parenting-at-a-distance session; a mothers' chat group started."),
    ActivitySpec(180, K.COUNSELLING, R.WOMEN_WORKERS, "One-to-one counselling day", 20,
                 "Twelve one-to-one sessions held."),
    ActivitySpec(670, K.HEALTH_TALK, R.WOMEN_WORKERS,
                 "Women's health talk by the county maternal and child health hospital", 60,
                 "Talk and free blood-pressure checks."),
    ActivitySpec(390, K.HEALTH_TALK, R.WOMEN_WORKERS,
                 "Breast and cervical cancer screening talk", 60,
                 "Forty women signed up for free screening."),
    ActivitySpec(120, K.HEALTH_TALK, R.WOMEN_WORKERS,
                 "Occupational health for field workers", 50,
                 "Heat stroke and pesticide safety explained."),
    ActivitySpec(-20, K.HEALTH_TALK, R.WOMEN_WORKERS,
                 "Women workers' health check briefing", 60),
    ActivitySpec(800, K.MODEL_WORKER_TALK, R.IDEOLOGICAL_GUIDANCE,
                 "Zhang Delan's studio: high-yield rice on the model workers' trial field", 50,
                 "Visit to the trial field; yields compared with ordinary plots."),
    ActivitySpec(590, K.MODEL_WORKER_TALK, R.IDEOLOGICAL_GUIDANCE,
                 "Model workers' stories go to the grassroots", 70,
                 "Three model workers told their stories in the Dadi Jiufeng canteen."),
    ActivitySpec(340, K.MODEL_WORKER_TALK, R.TECH_TRAINING,
                 "Zhang Delan's studio: seedling-raising demonstration", 40,
                 "Demonstration of factory seedling raising; twenty workers trained."),
    ActivitySpec(60, K.MODEL_WORKER_TALK, R.IDEOLOGICAL_GUIDANCE,
                 "Craftsmanship in the greenhouse: a labour model's talk", 50,
                 "Talk and questions; two apprentices matched with the studio."),
    ActivitySpec(850, K.TECH_GUIDANCE, R.TECH_TRAINING,
                 "On-farm guidance: transplanting rice seedlings", 40,
                 "County agriculture bureau experts in the field with 35 workers."),
    ActivitySpec(690, K.TECH_GUIDANCE, R.TECH_TRAINING,
                 "Greenhouse vegetable pest control in the field", 40,
                 "Biological pest control shown; trial in two greenhouses."),
    ActivitySpec(540, K.TECH_GUIDANCE, R.TECH_TRAINING, "Drone spraying demonstration", 40,
                 "Six workers started drone operator training."),
    ActivitySpec(430, K.TECH_GUIDANCE, R.TECH_TRAINING, "Wheat field management", 40,
                 "Spring field management plan for the Dadi Jiufeng fields."),
    ActivitySpec(280, K.TECH_GUIDANCE, R.TECH_TRAINING, "Soil testing and fertiliser use", 40,
                 "Soil samples taken from twelve plots; fertiliser plan adjusted."),
    ActivitySpec(100, K.TECH_GUIDANCE, R.TECH_TRAINING, "Farm machinery maintenance", 30,
                 "Maintenance checklist for harvesters handed out."),
    ActivitySpec(230, K.TECH_GUIDANCE, R.TECH_TRAINING,
                 "On-farm guidance: rapeseed harvest", 40, cancelled=True),
    ActivitySpec(610, K.JOB_FAIR, R.GRID_SERVICE,
                 "Jobs to the field (岗位送田头) with the county HR and social security bureau",
                 120, "Fourteen employers, 260 jobs offered, 48 agreements signed."),
    ActivitySpec(380, K.JOB_FAIR, R.GRID_SERVICE, "Job fair for returning migrant workers", 120,
                 "Eleven employers; 35 returning workers hired."),
    ActivitySpec(40, K.JOB_FAIR, R.GRID_SERVICE, "Jobs to the field at harvest time", 100,
                 "Seasonal jobs for 60 workers filled."),
    ActivitySpec(-35, K.JOB_FAIR, R.GRID_SERVICE, "Jobs to the field: hiring season", 120),
)  # fmt: skip
del K, R
ACTIVITY_HOURS = {
    ActivityKind.BIG_POT_TRAINING: 1.0,  # one lesson-hour (一课时)
    ActivityKind.SMALL_STOVE_COACHING: 1.5,
    ActivityKind.LOANS: 3.0,
    ActivityKind.JOB_FAIR: 3.0,
    ActivityKind.READING: 3.0,
}


class CoachingSpec(NamedTuple):
    enterprise: int  # index into NANHE_ENTERPRISES
    topic: str
    description: str
    requested_days_ago: int
    status: CoachingStatus
    visit_days_ago: int | None = None  # negative: the visit is planned
    visit_note: str | None = None


# "Small stove" (小灶): a union asks for on-site coaching whenever it is stuck.
COACHING_REQUESTS: tuple[CoachingSpec, ...] = (
    CoachingSpec(1, "Setting up the workers' congress",
                 "First workers' congress: who is a delegate and how to vote.",
                 705, CoachingStatus.VISITED, 698,
                 "Walked the chair through the procedure; the congress met a month later."),
    CoachingSpec(2, "A collective wage agreement for the rice mill",
                 "How to open a wage consultation with a family-run owner.",
                 565, CoachingStatus.VISITED, 557,
                 "Prepared the wage data with the chair; first consultation round held."),
    CoachingSpec(4, "Separating union funds from company funds",
                 "Union dues have been kept in the company's account.",
                 436, CoachingStatus.VISITED, 430,
                 "Union bank account opened; ledger set up with the town union's template."),
    CoachingSpec(1, "Women workers' special protection clauses",
                 "Which clauses to add to the collective contract for women workers.",
                 333, CoachingStatus.VISITED, 326,
                 "Four clauses drafted; adopted at the next workers' congress."),
    CoachingSpec(5, "A dispute over shift allowances",
                 "Night-shift workers and management disagree on the allowance.",
                 214, CoachingStatus.VISITED, 209,
                 "Both sides met at the station; allowance raised and put in writing."),
    CoachingSpec(6, "Recruiting migrant workers into the union",
                 "Most of the new migrant workers have not joined the union.",
                 96, CoachingStatus.VISITED, 89,
                 "Membership drive at shift change; 17 workers joined."),
    CoachingSpec(3, "Preparing for the 'model workers' home' assessment",
                 "What the assessors look at and which records to keep.",
                 12, CoachingStatus.SCHEDULED, -6),
    CoachingSpec(7, "Enrolling members in mutual-aid insurance",
                 "How the workers' mutual-aid insurance works and who pays.", 5,
                 CoachingStatus.OPEN),
    CoachingSpec(0, "A grievance procedure for seasonal field workers",
                 "Seasonal workers do not know whom to tell about problems in the fields.", 2,
                 CoachingStatus.OPEN),
)  # fmt: skip

# The two evaluations (双评价), each criterion of api/stations/criteria.py on 1–5.
MEMBER_EVALUATIONS_PER_CHAIR = 4
EVALUATION_COMMENTS = (
    "Listens to workers and follows up.",
    "Activities are well organised.",
    "Should report the union's finances more often.",
    "Always available when we have a problem.",
    None,
    None,
)


# ---------------------------------------------------------------------------------------------
# The plan: enterprises, pure and deterministic


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


def _credit_code(rng: random.Random, region: str, used: set[str]) -> str:
    # 9 (registered by market regulation) 1 (enterprise) + the county's region code + 9 chars.
    while True:
        body = f"91{region}" + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
        code = body + credit_check_char(body)
        if code not in used:
            used.add(code)
            return code


def _area_names(area: str) -> tuple[str, str | None]:
    """English town name and park name (if any) of an area code, for addresses."""
    town_code = PARK_TOWN.get(area, area)
    town = next(name for code, name, _ in TOWNS if code == town_code)
    park = next((name for code, _, name, _ in PARKS if code == area), None)
    return town, park


def _address(rng: random.Random, area: str) -> str:
    town, park = _area_names(area)
    where = f"{park}, {town}" if park else town
    return (
        f"No. {rng.randint(1, 288)} {rng.choice(ROADS)} Road, {where}, "
        "Sheyang County, Yancheng, Jiangsu"
    )


def plan_enterprises(seed: int = DEMO_SEED) -> tuple[list[EnterpriseSpec], list[EnterpriseSpec]]:
    """Sheyang's 539 enterprises (29 big, 510 small over 62 joint grids) and Nanhe's nine.

    Pure: the same seed gives the same names, credit codes and headcounts on every machine."""
    rng = random.Random(seed)
    codes: set[str] = set()
    names = {name for name, *_ in INDEPENDENT_ENTERPRISES}
    sheyang = [
        EnterpriseSpec(
            name=name,
            credit_code=_credit_code(rng, "320924", codes),
            headcount=headcount,
            industry=industry,
            area=area,
            address=_address(rng, area),
            has_union=True,
            direct_report=i < DIRECT_REPORT_POINTS,
        )
        for i, (name, industry, area, headcount) in enumerate(INDEPENDENT_ENTERPRISES)
    ]
    # Every joint grid gets at least two enterprises; parks and the two economic zones more.
    per_grid = [2] * len(JOINT_GRIDS)
    weights = [
        3.0 if area in PARK_TOWN else 1.5 if area in {"SY-T14", "SY-T15"} else 1.0
        for area, _ in JOINT_GRIDS
    ]
    for i in rng.choices(range(len(JOINT_GRIDS)), weights, k=JOINT_ENTERPRISES - sum(per_grid)):
        per_grid[i] += 1
    for (area, industry), count in zip(JOINT_GRIDS, per_grid, strict=True):
        town, _ = _area_names(area)
        for _ in range(count):
            while True:
                prefix = rng.choice(("Sheyang", "Sheyang", "Yancheng", "Jiangsu", town.split()[0]))
                word = rng.choice(INDUSTRY_WORDS[industry])
                name = f"{prefix} {rng.choice(BRANDS)} {word} Co., Ltd."
                if name not in names:
                    names.add(name)
                    break
            sheyang.append(
                EnterpriseSpec(
                    name=name,
                    credit_code=_credit_code(rng, "320924", codes),
                    headcount=min(199, int(rng.triangular(6, 199, 35))),
                    industry=industry,
                    area=area,
                    address=_address(rng, area),
                    has_union=rng.random() < 0.86,
                    direct_report=False,
                )
            )
    nanhe = [
        EnterpriseSpec(
            name=name,
            credit_code=_credit_code(rng, "320921", codes),
            headcount=headcount,
            industry=industry,
            area=NANHE,
            address=f"No. {rng.randint(1, 88)} {rng.choice(ROADS)} Road, Nanhe Town, "
            "Xiangshui County, Yancheng, Jiangsu",
            has_union=True,
            direct_report=False,
            union_members=members,
        )
        for name, industry, headcount, members in NANHE_ENTERPRISES
    ]
    return sheyang, nanhe


# ---------------------------------------------------------------------------------------------
# The summary


@dataclass(frozen=True)
class DemoSummary:
    """What the demo database holds. Grid, enterprise and ticket counts are Sheyang's (under
    the county grid SY); the nanhe_* counts are the Xiangshui tree's; members counts every
    person with an account row, nanhe_members the union members of Nanhe's nine unions."""

    created: bool
    towns: int
    parks: int
    independent_grids: int
    joint_grids: int
    enterprises: int
    direct_report_points: int
    tickets_open: int
    tickets_closed: int
    members: int
    stations: int
    rooms: int
    activities: int
    loans_yuan: int
    nanhe_enterprises: int
    nanhe_grids: int
    nanhe_members: int

    def lines(self) -> list[str]:
        verb = "Loaded" if self.created else "Already loaded, nothing written:"
        return [
            f"{verb} the demo county.",
            f"Sheyang County: {self.towns} towns, {self.parks} parks, "
            f"{self.independent_grids} independent and {self.joint_grids} joint grids, "
            f"{self.enterprises} enterprises ({self.direct_report_points} direct report points)",
            f"Tickets: {self.tickets_open} open, {self.tickets_closed} closed",
            f"Nanhe Town: {self.stations} station(s), {self.rooms} rooms, "
            f"{self.activities} activities, {self.loans_yuan:,} yuan of loans, "
            f"{self.nanhe_enterprises} enterprises in {self.nanhe_grids} grids, "
            f"{self.nanhe_members} union members",
            f"People with an account row: {self.members}",
        ]


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    stmt = select(func.count()).select_from(model).where(model.deleted_at.is_(None), *where)
    return int(await session.scalar(stmt) or 0)


async def demo_summary(session: AsyncSession, *, created: bool = False) -> DemoSummary:
    """Counts of what is in the database now, read the same way whether just loaded or not."""
    county_towns = {}
    for code in (SHEYANG, XIANGSHUI):
        county = await session.scalar(select(Grid.id).where(Grid.code == code))
        county_towns[code] = (
            select(Grid.id).where(Grid.parent_id == county, Grid.kind == GridKind.TOWN)
            if county
            else select(Grid.id).where(Grid.id.is_(None))
        )
    sy_towns, xs_towns = county_towns[SHEYANG], county_towns[XIANGSHUI]
    sy_county = select(Grid.id).where(Grid.code == SHEYANG)
    sy_grids = select(Grid.id).where(
        Grid.id.in_(sy_towns) | Grid.town_id.in_(sy_towns) | Grid.id.in_(sy_county)
    )
    nanhe_enterprises = select(Enterprise.id).where(Enterprise.town_id.in_(xs_towns))
    nanhe_roles = await session.scalars(
        select(Member.roles).where(
            Member.enterprise_id.in_(nanhe_enterprises), Member.deleted_at.is_(None)
        )
    )
    loans = await session.scalar(
        select(func.coalesce(func.sum(StationActivity.loans_issued_yuan), 0)).where(
            StationActivity.deleted_at.is_(None)
        )
    )
    return DemoSummary(
        created=created,
        towns=await _count(session, Grid, Grid.id.in_(sy_towns)),
        parks=await _count(session, Grid, Grid.kind == GridKind.PARK, Grid.town_id.in_(sy_towns)),
        independent_grids=await _count(
            session, Grid, Grid.kind == GridKind.INDEPENDENT, Grid.town_id.in_(sy_towns)
        ),
        joint_grids=await _count(
            session, Grid, Grid.kind == GridKind.JOINT, Grid.town_id.in_(sy_towns)
        ),
        enterprises=await _count(session, Enterprise, Enterprise.town_id.in_(sy_towns)),
        direct_report_points=await _count(
            session,
            Enterprise,
            Enterprise.town_id.in_(sy_towns),
            Enterprise.is_direct_report_point.is_(True),
        ),
        tickets_open=await _count(
            session, Ticket, Ticket.grid_id.in_(sy_grids), Ticket.status.in_(sorted(OPEN_STATUSES))
        ),
        tickets_closed=await _count(
            session, Ticket, Ticket.grid_id.in_(sy_grids), Ticket.status == TicketStatus.CLOSED
        ),
        members=await _count(session, Member),
        stations=await _count(session, Station),
        rooms=await _count(session, Room),
        activities=await _count(session, StationActivity),
        loans_yuan=int(loans or 0),
        nanhe_enterprises=await _count(session, Enterprise, Enterprise.town_id.in_(xs_towns)),
        nanhe_grids=await _count(
            session,
            Grid,
            Grid.kind.in_([GridKind.INDEPENDENT, GridKind.JOINT]),
            Grid.town_id.in_(xs_towns),
        ),
        nanhe_members=sum(Role.MEMBER.value in roles for roles in nanhe_roles),
    )


# ---------------------------------------------------------------------------------------------
# Loading


async def load_demo(session: AsyncSession, *, now: datetime | None = None) -> DemoSummary:
    """Load the demo county into an empty database; the caller commits.

    If the county grid SY exists, writes nothing and returns the summary of what is there.
    `now` is the reference time: ticket and activity times lie around it."""
    if await session.scalar(select(Grid.id).where(Grid.code == SHEYANG)) is not None:
        return await demo_summary(session, created=False)
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("give now as an aware datetime")
    await _Builder(session, now.astimezone(UTC)).run()
    return await demo_summary(session, created=True)


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True)
class _ClosedPlan:
    request: WorkerRequest
    enterprise: Enterprise
    severity: Severity
    tier: Tier
    rating: int
    comment: str | None


class _Builder:
    """One load: keeps what later steps need (grids by code, each grid's liaison, ...)."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        # Separate streams, so that a change in the schedule does not rename everyone: people
        # and what they report come from one, times and scores from the other.
        self.rng = random.Random(DEMO_SEED + 1)
        self.clock = random.Random(DEMO_SEED + 2)
        self.phones: set[str] = {account.phone for account in DEMO_ACCOUNTS}
        self.grids: dict[str, Grid] = {}
        self.area_of: dict[uuid.UUID, str] = {}  # enterprise id → town or park code
        self.sheyang: list[Enterprise] = []
        self.nanhe: list[Enterprise] = []
        self.by_grid: dict[uuid.UUID, list[Enterprise]] = {}  # grid id → its enterprises
        self.grid_of: dict[uuid.UUID, Grid] = {}  # enterprise id → its grid
        self.joint: dict[tuple[str, str], Grid] = {}
        self.big: dict[str, Enterprise] = {}
        self.liaison: dict[uuid.UUID, Member] = {}  # grid id → its liaison
        self.town_staff: dict[uuid.UUID, Member] = {}  # town id → who handles TOWN tier
        self.chair: dict[uuid.UUID, Member] = {}  # enterprise id → union chair
        self.members_of: dict[uuid.UUID, list[Member]] = {}  # Nanhe enterprise id → members
        self.accounts: dict[Role, Member] = {}
        self.county_staff: list[Member] = []
        self.heads: list[Member] = []
        self._links: list[MemberGrid | MemberStation] = []
        self.policies = PolicyBook()  # the built-in deadline policies
        self._password_hash = ""

    async def run(self) -> None:
        # One argon2 hash for all demo accounts: it is slow on purpose, and they share it.
        self._password_hash = hash_password(DEMO_PASSWORD)
        await self._grids()
        sheyang, nanhe = plan_enterprises()
        await self._register(sheyang, self.sheyang)
        await self._register(nanhe, self.nanhe)
        station, rooms = await self._station()
        await self._people(station)
        await self._station_life(station, rooms)
        await self._tickets()
        await self.session.flush()
        # Today's risk levels, stored: a rise to ORANGE or RED tells the grid's liaison now.
        await refresh_all_risk_levels(self.session, now=self.now)

    # -- grids and enterprises ---------------------------------------------------------------

    async def _grid(self, code: str, name: str, kind: GridKind, parent: str | None = None) -> Grid:
        grid = await create_grid(
            self.session,
            code=code,
            name=name,
            kind=kind,
            parent_id=self.grids[parent].id if parent else None,
        )
        self.grids[code] = grid
        return grid

    async def _grids(self) -> None:
        await self._grid(SHEYANG, "Sheyang County", GridKind.COUNTY)
        for code, english, chinese in TOWNS:
            await self._grid(code, f"{english} ({chinese})", GridKind.TOWN, SHEYANG)
        for code, town, english, chinese in PARKS:
            await self._grid(code, f"{english} ({chinese})", GridKind.PARK, town)
        await self._grid(XIANGSHUI, "Xiangshui County", GridKind.COUNTY)
        await self._grid(NANHE, "Nanhe Town (南河镇)", GridKind.TOWN, XIANGSHUI)

    async def _register(self, plan: Sequence[EnterpriseSpec], into: list[Enterprise]) -> None:
        for spec in plan:
            park = self.grids[spec.area] if spec.area in PARK_TOWN else None
            town = self.grids[PARK_TOWN.get(spec.area, spec.area)]
            placed = await register_enterprise(
                self.session,
                name=spec.name,
                credit_code=spec.credit_code,
                headcount=spec.headcount,
                industry=spec.industry,
                town_id=town.id,
                park_id=park.id if park else None,
                address=spec.address,
                has_union=spec.has_union,
                is_direct_report_point=spec.direct_report,
            )
            enterprise, grid = placed.enterprise, placed.placement.grid
            into.append(enterprise)
            self.area_of[enterprise.id] = spec.area
            self.grids[grid.code] = grid
            self.by_grid.setdefault(grid.id, []).append(enterprise)
            self.grid_of[enterprise.id] = grid
            if grid.kind == GridKind.JOINT:
                self.joint[(spec.area, spec.industry)] = grid
            else:
                self.big[enterprise.name] = enterprise

    # -- people ------------------------------------------------------------------------------

    def _name(self) -> str:
        given = self.rng.choice(GIVEN)
        if self.rng.random() < 0.7:
            given += self.rng.choice(GIVEN).lower()
        return f"{self.rng.choice(SURNAMES)} {given}"

    def _phone(self) -> str:
        while True:
            phone = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _person(
        self,
        role: Role,
        *,
        name: str | None = None,
        enterprise: Enterprise | None = None,
        grids: Iterable[Grid] = (),
        station: Station | None = None,
    ) -> Member:
        """A person without a password, added as rows (create_member's checks cost a few
        queries each, too slow for a thousand people whose data is known to be valid)."""
        member = Member(
            id=uuid.uuid4(),
            name=name or self._name(),
            phone=self._phone(),
            roles=[role.value],
            enterprise_id=enterprise.id if enterprise else None,
        )
        self.session.add(member)
        self._links.extend(MemberGrid(member_id=member.id, grid_id=g.id) for g in grids)
        if station is not None:
            self._links.append(MemberStation(member_id=member.id, station_id=station.id))
        return member

    async def _account(
        self,
        role: Role,
        *,
        enterprise: Enterprise | None = None,
        grids: Iterable[Grid] = (),
        station: Station | None = None,
    ) -> Member:
        """A demo account, through the service like an admin would make it."""
        spec = next(a for a in DEMO_ACCOUNTS if a.role == role)
        member = await create_member(
            self.session,
            name=spec.name,
            phone=spec.phone,
            roles=[role.value],
            enterprise_id=enterprise.id if enterprise else None,
            grid_ids=[g.id for g in grids],
            station_ids=[station.id] if station else [],
        )
        member.password_hash = self._password_hash
        self.accounts[role] = member
        return member

    async def _people(self, station: Station) -> None:
        county, hede = self.grids[SHEYANG], self.grids["SY-T01"]
        demo_grid = self.joint[DEMO_LIAISON_GRID]
        dadi_jiufeng = self.nanhe[0]
        await self._account(Role.ADMIN)
        self.county_staff.append(await self._account(Role.COUNTY_STAFF, grids=[county]))
        self.town_staff[hede.id] = await self._account(Role.TOWN_STAFF, grids=[hede])
        self.liaison[demo_grid.id] = await self._account(Role.LIAISON, grids=[demo_grid])
        self.chair[dadi_jiufeng.id] = await self._account(
            Role.CHAIR, enterprise=dadi_jiufeng, station=station
        )
        demo_member = await self._account(Role.MEMBER, enterprise=dadi_jiufeng, station=station)

        self.county_staff += [self._person(Role.COUNTY_STAFF, grids=[county]) for _ in range(3)]
        for code, *_ in TOWNS:
            town = self.grids[code]
            staff = [self._person(Role.TOWN_STAFF, grids=[town]) for _ in range(2)]
            self.town_staff.setdefault(town.id, staff[0])
        nanhe_town = self.grids[NANHE]
        self.heads = [
            self._person(Role.TOWN_STAFF, name=name, grids=[nanhe_town], station=station)
            for name in STATION_HEADS
        ]
        self.town_staff[nanhe_town.id] = self.heads[1]
        for grid in self.grids.values():
            served = grid.kind in {GridKind.PARK, GridKind.INDEPENDENT, GridKind.JOINT}
            if served and grid.id not in self.liaison:
                self.liaison[grid.id] = self._person(Role.LIAISON, grids=[grid])
        for enterprise in self.sheyang:
            if enterprise.has_union:
                self.chair[enterprise.id] = self._person(Role.CHAIR, enterprise=enterprise)
        for enterprise, (*_, members) in zip(self.nanhe, NANHE_ENTERPRISES, strict=True):
            if enterprise.id not in self.chair:
                self.chair[enterprise.id] = self._person(
                    Role.CHAIR, enterprise=enterprise, station=station
                )
            people = self.members_of.setdefault(enterprise.id, [])
            if enterprise is dadi_jiufeng:
                people.append(demo_member)
                people.append(
                    self._person(
                        Role.MEMBER, name=MODEL_WORKER, enterprise=enterprise, station=station
                    )
                )
            while len(people) < members:
                people.append(self._person(Role.MEMBER, enterprise=enterprise, station=station))
        # Link rows after their members exist: no relationship() tells the flush the order.
        await self.session.flush()
        self.session.add_all(self._links)
        await self.session.flush()

    # -- the guidance station ----------------------------------------------------------------

    def _local(self, days_ago: float, hour: int, minute: int = 0) -> datetime:
        """A local (CST) clock time on the day `days_ago` before now, as UTC."""
        day = (self.now.astimezone(CST) - timedelta(days=days_ago)).date()
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST).astimezone(UTC)

    async def _station(self) -> tuple[Station, dict[RoomKind, Room]]:
        station = Station(
            name=STATION_NAME,
            town_name="Nanhe Town, Xiangshui County",
            grid_id=self.grids[NANHE].id,
            address="Dadi Jiufeng company, Nanhe Town, Xiangshui County, Yancheng, Jiangsu",
            area_m2=300,
            host_enterprise_id=self.nanhe[0].id,
            founded_on="2022-04",
        )
        self.session.add(station)
        await self.session.flush()
        rooms = {kind: Room(station_id=station.id, kind=kind, name=name) for kind, name in ROOMS}
        self.session.add_all(rooms.values())
        await self.session.flush()
        return station, rooms

    async def _station_life(self, station: Station, rooms: dict[RoomKind, Room]) -> None:
        clock = self.clock
        chairs = [self.chair[e.id] for e in self.nanhe]
        all_members = [m for e in self.nanhe for m in self.members_of[e.id]]
        recorder = self.heads[1]

        # Small-stove requests first: their visits are activities that point back to them.
        visits: list[tuple[CoachingRequest, CoachingSpec, int]] = []
        for spec in COACHING_REQUESTS:
            enterprise = self.nanhe[spec.enterprise]
            request = CoachingRequest(
                station_id=station.id,
                enterprise_id=enterprise.id,
                requested_by_id=self.chair[enterprise.id].id,
                topic=spec.topic,
                description=spec.description,
                status=spec.status,
                requested_at=self._local(spec.requested_days_ago, clock.randint(8, 17)),
            )
            if spec.status == CoachingStatus.VISITED and spec.visit_days_ago is not None:
                request.visited_at = self._local(spec.visit_days_ago, 14, 30)
                request.visit_note = spec.visit_note
            self.session.add(request)
            if spec.visit_days_ago is not None:
                visits.append((request, spec, spec.visit_days_ago))
        await self.session.flush()

        planned: list[tuple[ActivitySpec, CoachingRequest | None, Enterprise | None]] = []
        for quarter, (room, title, outcome) in enumerate(BIG_POT_TOPICS):
            days_ago = BIG_POT_FIRST_DAYS_AGO + QUARTER_DAYS * (len(BIG_POT_TOPICS) - 2 - quarter)
            spec = ActivitySpec(
                days_ago if quarter < len(BIG_POT_TOPICS) - 1 else -BIG_POT_FIRST_DAYS_AGO,
                ActivityKind.BIG_POT_TRAINING,
                room,
                f"Big-pot training: {title}",
                40,
                outcome or None,
            )
            planned.append((spec, None, None))
        planned += [(spec, None, None) for spec in ACTIVITIES]
        for request, coaching, visit_days_ago in visits:
            spec = ActivitySpec(
                visit_days_ago,
                ActivityKind.SMALL_STOVE_COACHING,
                RoomKind.GRID_SERVICE,
                f"Small-stove coaching: {coaching.topic}",
                12,
                coaching.visit_note,
            )
            planned.append((spec, request, self.nanhe[coaching.enterprise]))
        planned.sort(key=lambda item: -item[0].days_ago)

        activities: list[tuple[StationActivity, ActivitySpec, Enterprise | None]] = []
        for spec, request, enterprise in planned:
            if spec.kind == ActivityKind.SMALL_STOVE_COACHING:
                starts = self._local(spec.days_ago, 14, 30)
            else:
                starts = self._local(spec.days_ago, clock.choice((9, 14)), clock.choice((0, 30)))
            status = ActivityStatus.PLANNED if spec.days_ago < 0 else ActivityStatus.HELD
            if spec.cancelled:
                status = ActivityStatus.CANCELLED
            activity = StationActivity(
                station_id=station.id,
                room_id=rooms[spec.room].id,
                kind=spec.kind,
                title=spec.title,
                description=request.description if request else "",
                starts_at=starts,
                ends_at=starts + timedelta(hours=ACTIVITY_HOURS.get(spec.kind, 2.0)),
                capacity=spec.capacity,
                status=status,
                outcome=spec.outcome if status == ActivityStatus.HELD else None,
                loans_issued_yuan=spec.loans_yuan,
                coaching_request_id=request.id if request else None,
            )
            if spec.cancelled:
                activity.description = "Cancelled: typhoon warning for the coast."
            self.session.add(activity)
            activities.append((activity, spec, enterprise))
        await self.session.flush()

        demo_member = self.accounts[Role.MEMBER]
        for activity, spec, enterprise in activities:
            if activity.status != ActivityStatus.HELD:
                continue
            size = round(spec.capacity * clock.uniform(0.6, 0.95))
            if spec.kind == ActivityKind.BIG_POT_TRAINING:
                people = chairs + clock.sample(all_members, size - len(chairs))
            elif enterprise is not None:
                staff = self.members_of[enterprise.id]
                people = [self.chair[enterprise.id], *clock.sample(staff, min(size, len(staff)))]
            else:
                people = clock.sample(all_members, size)
                # The demo member has a history to look at.
                if demo_member not in people and clock.random() < 0.4:
                    people[-1] = demo_member
            enterprise_of = {m.id: m.enterprise_id for m in people}
            self.session.add_all(
                Attendance(
                    activity_id=activity.id,
                    station_id=station.id,
                    member_id=person.id,
                    attendee_name=person.name,
                    enterprise_id=enterprise_of[person.id],
                    recorded_by_id=recorder.id,
                    signed_in_at=activity.starts_at - timedelta(minutes=clock.uniform(0, 20)),
                )
                for person in people
            )

        # Two evaluations (双评价): the town union's of every chair (last year and this), and a
        # few members' of their own chair.
        year = self.now.astimezone(CST).year
        for enterprise, chair in zip(self.nanhe, chairs, strict=True):
            base = clock.uniform(3.6, 4.7)
            for period in (str(year - 1), str(year)):
                self._evaluation(chair, recorder, EvaluatorKind.TOWN_UNION, station, period, base)
            staff = self.members_of[enterprise.id]
            evaluators = clock.sample(staff, MEMBER_EVALUATIONS_PER_CHAIR)
            if enterprise is self.nanhe[0] and demo_member not in evaluators:
                evaluators[0] = demo_member
            for evaluator in evaluators:
                self._evaluation(chair, evaluator, EvaluatorKind.MEMBER, station, str(year), base)
        await self.session.flush()

    def _evaluation(
        self,
        chair: Member,
        evaluator: Member,
        kind: EvaluatorKind,
        station: Station,
        period: str,
        base: float,
    ) -> None:
        criteria = CRITERIA[kind]
        scores = {c: max(1, min(5, round(self.clock.gauss(base, 0.6)))) for c in criteria}
        self.session.add(
            Evaluation(
                chair_id=chair.id,
                evaluator_id=evaluator.id,
                evaluator_kind=kind,
                station_id=station.id,
                period=period,
                scores=scores,
                total=round(statistics.fmean(scores.values()), 2),
                comment=self.clock.choice(EVALUATION_COMMENTS),
            )
        )

    # -- tickets -----------------------------------------------------------------------------

    def _handler(self, tier: Tier, grid: Grid) -> Member:
        """Who works a ticket at a tier: the grid's liaison, the town union, the county."""
        if tier == Tier.GRID:
            return self.liaison.get(grid.id) or self.town_staff[grid.town_id or grid.id]
        if tier == Tier.TOWN:
            return self.town_staff[grid.town_id or grid.id]
        return self.accounts[Role.COUNTY_STAFF]

    # The three moves below write what api.tickets.lifecycle writes for the same move (same
    # event kinds and keys), without its notifications: nobody is told of last year's work.

    def _assign(self, ticket: Ticket, at: datetime, actor: Member, assignee: Member) -> None:
        before = {"status": ticket.status.value, "assigneeId": _str(ticket.assignee_id)}
        kind = "ASSIGNED" if ticket.assignee_id is None else "REASSIGNED"
        ticket.assignee_id, ticket.assigned_at = assignee.id, at
        if ticket.status in {TicketStatus.REPORTED, TicketStatus.REOPENED}:
            enter_status(ticket, TicketStatus.ASSIGNED, at)
        after = {"status": ticket.status.value, "assigneeId": str(assignee.id)}
        record_event(
            self.session, ticket, kind=kind, actor_id=actor.id, before=before, after=after, at=at
        )

    def _move(
        self,
        ticket: Ticket,
        at: datetime,
        actor: Member,
        status: TicketStatus,
        note: str | None = None,
    ) -> None:
        before = {"status": ticket.status.value, "assigneeId": _str(ticket.assignee_id)}
        enter_status(ticket, status, at)
        if status == TicketStatus.REOPENED:
            start_clocks(ticket, self.policies, at)
        after = {"status": status.value, "assigneeId": _str(ticket.assignee_id)}
        record_event(
            self.session,
            ticket,
            kind="STATUS",
            actor_id=actor.id,
            before=before,
            after=after,
            note=note,
            at=at,
        )

    def _escalate(self, ticket: Ticket, at: datetime, actor: Member, assignee: Member) -> None:
        tier = TIERS[TIERS.index(ticket.tier) + 1]
        before = {
            "tier": ticket.tier.value,
            "assigneeId": _str(ticket.assignee_id),
            "status": ticket.status.value,
        }
        ticket.tier, ticket.assignee_id, ticket.assigned_at = tier, assignee.id, at
        start_clocks(ticket, self.policies, at)  # the new tier's clocks, as lifecycle does
        after = {"tier": tier.value, "assigneeId": str(assignee.id), "status": ticket.status.value}
        record_event(
            self.session,
            ticket,
            kind="ESCALATED",
            actor_id=actor.id,
            before=before,
            after=after,
            note=ESCALATION_NOTES[tier],
            at=at,
        )

    async def _report(
        self,
        *,
        title: str,
        description: str,
        source: TicketSource,
        category: str,
        severity: Severity,
        grid: Grid,
        enterprise: Enterprise | None,
        reported_at: datetime,
    ) -> Ticket:
        reporter: Member | None = None
        reporter_name = reporter_phone = None
        if source == TicketSource.RISK_HAZARD:
            reporter = self.liaison.get(grid.id) or self.town_staff[grid.town_id or grid.id]
        elif source == TicketSource.DIRECT_REPORT and enterprise is not None:
            reporter = self.chair.get(enterprise.id)
        else:
            reporter_name, reporter_phone = self._name(), self._phone()
        # The hotline is answered at the county union, which records the call.
        actor = self.county_staff[-1] if source == TicketSource.HOTLINE_12351 else None
        ticket = await report_ticket(
            self.session,
            title=title,
            description=description,
            source=source,
            category=category,
            severity=severity,
            grid_id=grid.id,
            enterprise_id=enterprise.id if enterprise else None,
            reporter_id=reporter.id if reporter else None,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            reported_at=reported_at,
            actor_id=actor.id if actor else None,
            # Numbered in the year it was reported (SY-2025-000012), not the year loaded.
            now=reported_at,
        )
        return ticket  # report_ticket started its clocks (the county's deadline policies)

    async def _tickets(self) -> None:
        # Reported in time order so that the human numbers rise with the dates.
        jobs: list[tuple[datetime, int, _ClosedPlan | OpenTicket]] = []
        jobs += [(at, 0, plan) for at, plan in self._closed_plan()]
        for spec in OPEN_TICKETS:
            at = self.now - timedelta(hours=spec.age_hours)
            jobs.append((at.replace(second=0, microsecond=0), 1, spec))
        jobs.sort(key=lambda job: job[0])
        for at, _, plan in jobs:
            if isinstance(plan, OpenTicket):
                await self._open_ticket(plan, at)
            else:
                await self._closed_ticket(plan, at)
        await self.session.flush()

    def _closed_plan(self) -> list[tuple[datetime, _ClosedPlan]]:
        """53 worker requests over the last two years (the article's 53 with 100 % satisfied)."""
        plans = []
        requests = list(WORKER_REQUESTS)
        self.rng.shuffle(requests)
        for i in range(53):
            enterprise = self.rng.choice(self.sheyang)
            # Most are settled in the grid; some go to the town union, a few to the county.
            roll = self.rng.random()
            tier = Tier.COUNTY_STATION if roll < 0.05 else Tier.TOWN if roll < 0.2 else Tier.GRID
            plans.append(
                (
                    self._local(
                        self.clock.uniform(45, 730),
                        self.clock.randint(8, 17),
                        self.clock.randrange(60),
                    ),
                    _ClosedPlan(
                        request=requests[i % len(requests)],
                        enterprise=enterprise,
                        severity=self.rng.choices(
                            (Severity.LOW, Severity.MEDIUM, Severity.HIGH), (3, 5, 2)
                        )[0],
                        tier=tier,
                        rating=5 if self.rng.random() < 0.75 else 4,
                        comment=self.rng.choice(RATING_COMMENTS),
                    ),
                )
            )
        return plans

    async def _closed_ticket(self, plan: _ClosedPlan, reported: datetime) -> None:
        clock, enterprise = self.clock, plan.enterprise
        grid = self.grid_of[enterprise.id]
        town_staff = self.town_staff[enterprise.town_id]
        liaison = self._handler(Tier.GRID, grid)
        ticket = await self._report(
            title=plan.request.title,
            description=plan.request.description,
            source=TicketSource.WORKER_REQUEST,
            category=plan.request.category,
            severity=plan.severity,
            grid=grid,
            enterprise=enterprise,
            reported_at=reported,
        )
        at = reported + timedelta(hours=clock.uniform(0.5, 6))
        self._assign(ticket, at, town_staff, liaison)
        at += timedelta(hours=clock.uniform(0.5, 20))
        self._move(ticket, at, liaison, TicketStatus.IN_PROGRESS)
        handler = liaison
        for tier in TIERS[1 : TIERS.index(plan.tier) + 1]:
            at += timedelta(days=clock.uniform(1, 4))
            next_handler = self._handler(tier, grid)
            self._escalate(ticket, at, handler, next_handler)
            handler = next_handler
            if ticket.status != TicketStatus.MEDIATING:
                at += timedelta(hours=clock.uniform(2, 24))
                self._move(ticket, at, handler, TicketStatus.MEDIATING, MEDIATION_NOTE)
        at += timedelta(days=clock.uniform(1, 9))
        note = plan.request.resolution
        if self.area_of[enterprise.id].startswith("SY-T15"):
            note += f" Settled at the {PORT_SERVICE_CENTRE}."
        ticket.resolution_note = note
        self._move(ticket, at, handler, TicketStatus.RESOLVED, note)
        at += timedelta(days=clock.uniform(0.5, 3))
        self._move(ticket, at, handler, TicketStatus.CLOSED)
        # Rated after closing, by phone: the liaison records it on the worker's behalf.
        at += timedelta(minutes=clock.uniform(5, 120))
        ticket.satisfaction_rating = plan.rating
        ticket.satisfaction_comment = plan.comment
        ticket.rated_by_id = liaison.id
        ticket.rated_on_behalf = True
        ticket.rated_at = at
        record_event(
            self.session,
            ticket,
            kind="RATED",
            actor_id=liaison.id,
            after={"rating": plan.rating, "onBehalf": True},
            note=plan.comment,
            at=at,
        )

    async def _open_ticket(self, spec: OpenTicket, reported: datetime) -> None:
        enterprise: Enterprise | None = None
        match spec.target:
            case ("joint", area, industry):
                grid = self.joint[(area, industry)]
                enterprise = self.rng.choice(self.by_grid[grid.id])
            case ("big", name):
                enterprise = self.big[name]
                grid = self.grid_of[enterprise.id]
            case ("town", code):
                grid = self.grids[code]
            case _:
                raise ValueError(f"unknown ticket target {spec.target}")
        ticket = await self._report(
            title=spec.title,
            description=spec.description,
            source=spec.source,
            category=spec.category,
            severity=spec.severity,
            grid=grid,
            enterprise=enterprise,
            reported_at=reported,
        )
        if spec.status == TicketStatus.REPORTED:
            return
        # The moves that lead to the wanted state, spread between the report and now.
        escalations = TIERS.index(spec.tier)
        worked = spec.status not in {TicketStatus.ASSIGNED, TicketStatus.WITHDRAWN}
        last_moves = LAST_MOVES.get(spec.status, ())
        span = (self.now - timedelta(minutes=20)) - reported
        moves = 1 + escalations + worked + len(last_moves)
        # Dispatched soon after the report; the later moves anywhere up to now.
        shares = [self.clock.uniform(0.01, 0.1)]
        shares += sorted(self.clock.uniform(0.15, 1) for _ in range(moves - 1))
        times = iter(reported + span * share for share in shares)
        handler = self._handler(Tier.GRID, grid)
        self._assign(ticket, next(times), self.town_staff[grid.town_id or grid.id], handler)
        if worked:
            self._move(ticket, next(times), handler, TicketStatus.IN_PROGRESS)
        for tier in TIERS[1 : escalations + 1]:
            next_handler = self._handler(tier, grid)
            self._escalate(ticket, next(times), handler, next_handler)
            handler = next_handler
        if spec.status in {TicketStatus.RESOLVED, TicketStatus.REOPENED}:
            ticket.resolution_note = spec.comment
        for status in last_moves:
            note = MEDIATION_NOTE if status == TicketStatus.MEDIATING else spec.comment
            self._move(ticket, next(times), handler, status, note)
        if spec.comment:
            self.session.add(
                TicketComment(
                    ticket_id=ticket.id,
                    author_id=handler.id,
                    body=spec.comment,
                    occurred_at=self.now - timedelta(minutes=self.clock.uniform(5, 15)),
                )
            )


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
