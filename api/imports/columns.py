"""The columns of each kind of sheet, declared once: the reader matches headers by them, the
template writes them, the docs list them."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool
    example: str
    note: str
    max_length: int | None = None
    aliases: tuple[str, ...] = ()

    def names(self) -> set[str]:
        return {normalize_header(n) for n in (self.zh, self.en, self.key, *self.aliases)}


def normalize_header(text: str) -> str:
    # People add stars for required columns, full-width brackets and stray spaces.
    return re.sub(r"[\s*＊:：（）()_\-]", "", str(text)).lower()


@dataclass(frozen=True)
class SheetKind:
    name: str
    title_zh: str
    columns: tuple[Column, ...]

    def by_header(self) -> dict[str, Column]:
        return {name: column for column in self.columns for name in column.names()}

    def column(self, key: str) -> Column:
        return _columns_by_key(self)[key]


@functools.cache
def _columns_by_key(kind: SheetKind) -> dict[str, Column]:
    # Asked for every cell of a 100 000-row file: a dict, not a scan.
    return {c.key: c for c in kind.columns}


ENTERPRISES = SheetKind(
    "enterprises",
    "企业名录",
    (
        Column(
            "name",
            "企业名称",
            "Name",
            True,
            "射阳县恒丰纺织有限公司",
            "全称",
            200,
            ("enterprise name", "enterprise"),
        ),
        Column(
            "credit_code",
            "统一社会信用代码",
            "Credit code",
            True,
            "91320924MA1MX5K2PG",
            "18 位，末位为校验位；按此代码匹配已有企业",
            18,
            ("credit code", "uscc", "信用代码"),
        ),
        Column(
            "headcount",
            "职工人数",
            "Headcount",
            True,
            "120",
            "整数；200 人及以上单独建立独立网格",
            None,
            ("staff", "employees", "职工数"),
        ),
        Column(
            "industry",
            "行业",
            "Industry",
            True,
            "纺织",
            "与已有行业一致；不足 200 人的企业按乡镇（园区）和行业归入联合网格",
            100,
            ("所属行业",),
        ),
        Column(
            "town",
            "所属乡镇",
            "Town",
            True,
            "合德镇",
            "乡镇（区）名称或网格编码",
            None,
            ("乡镇", "镇区", "所属镇区"),
        ),
        Column(
            "park",
            "所属园区",
            "Park",
            False,
            "",
            "园区名称或网格编码；不在园区可留空",
            None,
            ("园区", "industrial park"),
        ),
        Column(
            "address", "地址", "Address", False, "射阳县合德镇幸福路 18 号", "", 300, ("企业地址",)
        ),
        Column(
            "has_union", "是否建会", "Has union", False, "是", "是/否", None, ("已建会", "union")
        ),
        Column(
            "direct_report",
            "是否直报点",
            "Direct report point",
            False,
            "否",
            "是/否",
            None,
            ("直报点", "direct report"),
        ),
    ),
)

MEMBERS = SheetKind(
    "members",
    "人员名单",
    (
        Column("name", "姓名", "Name", True, "李志强", "", 100),
        Column(
            "phone",
            "手机号",
            "Phone",
            True,
            "13800000099",
            "11 位手机号；按此匹配已有人员",
            None,
            ("手机", "手机号码", "mobile"),
        ),
        Column(
            "roles",
            "角色",
            "Roles",
            True,
            "网格员",
            "网格员、镇工会、县总工会、工会主席、会员、管理员；多个用顿号分隔",
            None,
            ("role",),
        ),
        Column(
            "grids",
            "服务网格",
            "Grids",
            False,
            "SY-T01-J01",
            "网格编码或名称；多个用顿号分隔；网格员须填",
            None,
            ("网格", "grid"),
        ),
    ),
)

GRIDS = SheetKind(
    "grids",
    "网格树",
    (
        Column("code", "网格编码", "Code", True, "SY-T01", "唯一编码，如 SY-T01", 64, ("编码",)),
        Column("name", "名称", "Name", True, "合德镇", "", 200, ("网格名称",)),
        Column("kind", "类型", "Kind", True, "镇", "县、镇 或 园区", None, ("网格类型", "type")),
        Column(
            "parent",
            "上级编码",
            "Parent",
            False,
            "SY",
            "县可留空；镇填县的编码；园区填镇的编码",
            None,
            ("上级", "上级网格", "parent code"),
        ),
    ),
)

KINDS: dict[str, SheetKind] = {kind.name: kind for kind in (ENTERPRISES, MEMBERS, GRIDS)}

YES = {"是", "有", "y", "yes", "true", "1", "✓", "√"}
NO = {"否", "无", "n", "no", "false", "0", ""}

# Several values in one cell: 、 , ， ; ； / or one per line (names may hold spaces).
LIST_SEPARATORS = re.compile(r"[、,，;；/\n]+")


def split_list(text: str) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(text.strip()) if part.strip()]
