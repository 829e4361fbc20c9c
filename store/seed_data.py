"""The data the history generator draws from: a placeholder leaf tree, places, names, rhythms.

``SeedLeaf`` is one taxonomy leaf as the generator needs it (``leaves_from_taxonomy`` maps the real
catalogue onto it); ``PLACEHOLDER_LEAVES`` is a made-up tree in the real domains until a catalogue
is passed. ``DISTRICTS``, ``STREETS``, ``SURNAMES`` and ``PHONE_PREFIXES`` make the addresses and the
callers; ``HOURLY`` is the day/night curve of arrivals, ``NATURE_DIRECT_SHARE`` how often each
nature is answered on the spot (直接办结), ``TICKETS_PER_DAY`` the seed platform's pace.
``hours(n)`` / ``working_days(n)`` write a leaf's time limit. ``DEMO_DEPARTMENT_PHONES`` are made-up
transfer numbers of some departments, for the demo's transfer list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from store.deadlines import TimeLimit, leaf_limits_from_catalogue
from store.vocabulary import DEFAULT_BOARD, DEFAULT_URGENCY, urgency_of_leaf
from taxonomy.model import Node

__all__ = [
    "DEMO_DEPARTMENT_PHONES",
    "DISTRICTS",
    "HOURLY",
    "NATURE_DIRECT_SHARE",
    "OPERATOR_NAMES",
    "PHONE_PREFIXES",
    "PLACEHOLDER_LEAVES",
    "STREETS",
    "SUPERVISOR_NAMES",
    "SURNAMES",
    "TICKETS_PER_DAY",
    "SeedLeaf",
    "hours",
    "leaves_from_taxonomy",
    "working_days",
]


@dataclass(frozen=True)
class SeedLeaf:
    """One taxonomy leaf as the generator needs it (the real catalogue can be mapped onto this)."""

    code: str
    name: str
    department: str  # the lead department (主办)
    board: str = DEFAULT_BOARD
    natures: tuple[str, ...] = ("咨询", "求助", "投诉")
    weight: float = 1.0  # relative frequency
    limit: TimeLimit | None = None  # the catalogue's time limit; None = the policy's rules
    urgency: str = DEFAULT_URGENCY
    heating: bool = False  # more frequent in the heating season (Nov-Mar)


def hours(n: int) -> TimeLimit:
    """A time limit of ``n`` hours."""
    return TimeLimit(amount=n, unit="hours")


def working_days(n: int) -> TimeLimit:
    """A time limit of ``n`` working days."""
    return TimeLimit(amount=n, unit="working_days")


# PLACEHOLDER taxonomy (a few dozen leaves) until the taxonomy issue lands (then pass
# ``leaves=leaves_from_taxonomy(...)``). Leaf codes sit in the real domains of taxonomy/source (101 供热,
# 102 供水, 104 供电, 105 燃气, 107 物业 ...) but the leaves themselves are made up; departments are the
# full names of taxonomy/source/departments.tsv.
HEAT, WATER, POWER, GAS = "鞍山市热力有限公司", "鞍山水务集团有限公司", "国网鞍山供电公司", "鞍山市燃气总公司"
HOUSING, CITY, ENV, TRAFFIC = (
    "鞍山市住房和城乡建设局",
    "鞍山市城市管理综合行政执法局",
    "鞍山市生态环境局",
    "鞍山市交通运输局",
)
LABOUR, MARKET, HEALTH, EDU = (
    "鞍山市人力资源和社会保障局",
    "鞍山市市场监督管理局",
    "鞍山市卫生健康委员会",
    "鞍山市教育局",
)
PLACEHOLDER_LEAVES: tuple[SeedLeaf, ...] = (
    SeedLeaf("101001", "暖气不热", HEAT, weight=8, limit=hours(24), heating=True, urgency="紧急"),
    SeedLeaf("101002", "暖气漏水", HEAT, weight=2, limit=hours(2), heating=True, urgency="紧急"),
    SeedLeaf(
        "101003", "供暖收费咨询", HEAT, natures=("咨询",), weight=3, limit=working_days(3), heating=True
    ),
    SeedLeaf("101004", "供暖报停", HEAT, natures=("咨询", "求助"), weight=1.5, heating=True),
    SeedLeaf("102001", "停水", WATER, weight=4, limit=hours(24)),
    SeedLeaf("102002", "水压低", WATER, weight=1.5, limit=hours(24)),
    SeedLeaf("102003", "水质问题", WATER, natures=("投诉", "举报"), weight=1),
    SeedLeaf("102004", "水费咨询", WATER, natures=("咨询",), weight=1.5, limit=working_days(3)),
    SeedLeaf("104001", "停电", POWER, weight=3, limit=hours(24)),
    SeedLeaf("104002", "电压不稳", POWER, weight=1, limit=hours(24)),
    SeedLeaf("104003", "电费咨询", POWER, natures=("咨询",), weight=1, limit=working_days(3)),
    SeedLeaf("105001", "燃气异味", GAS, weight=0.6, limit=hours(2), urgency="特急"),
    SeedLeaf("105002", "燃气停气", GAS, weight=0.8, limit=hours(24)),
    SeedLeaf("107001", "物业服务", HOUSING, natures=("投诉", "求助", "建议"), weight=5),
    SeedLeaf("107002", "楼道照明损坏", HOUSING, weight=1.5),
    SeedLeaf("106001", "电梯故障", HOUSING, weight=1.5, limit=hours(24), urgency="紧急"),
    SeedLeaf("109001", "房屋漏雨", HOUSING, weight=1.5),
    SeedLeaf("122001", "占道经营", CITY, natures=("投诉", "举报"), weight=2.5),
    SeedLeaf("113001", "垃圾清运不及时", CITY, weight=2.5),
    SeedLeaf("111001", "违章建筑", CITY, natures=("投诉", "举报"), weight=1.5, limit=working_days(15)),
    SeedLeaf("116001", "路灯不亮", CITY, weight=1.5),
    SeedLeaf("112001", "噪声扰民", ENV, natures=("投诉", "举报"), weight=3, board="环保"),
    SeedLeaf("226001", "油烟污染", ENV, natures=("投诉", "举报"), weight=1.5, board="环保"),
    SeedLeaf("226002", "工业废气", ENV, natures=("举报",), weight=0.5, board="环保", limit=working_days(15)),
    SeedLeaf("119001", "公交线路建议", TRAFFIC, natures=("建议", "咨询"), weight=1),
    SeedLeaf("120001", "出租车拒载", TRAFFIC, natures=("投诉",), weight=1),
    SeedLeaf("115001", "道路破损", TRAFFIC, weight=1.5),
    SeedLeaf("201001", "拖欠工资", LABOUR, natures=("求助", "投诉", "举报"), weight=4, limit=working_days(5)),
    SeedLeaf("206001", "社保缴费咨询", LABOUR, natures=("咨询",), weight=3, limit=working_days(3)),
    SeedLeaf(
        "202001", "劳动合同纠纷", LABOUR, natures=("咨询", "求助", "投诉"), weight=1.5, limit=working_days(10)
    ),
    SeedLeaf("203001", "就业创业政策咨询", LABOUR, natures=("咨询",), weight=1.5, board="群众需求"),
    SeedLeaf("207001", "医保报销咨询", "鞍山市医疗保障局", natures=("咨询",), weight=2),
    SeedLeaf("208001", "医疗服务投诉", HEALTH, natures=("投诉", "建议"), weight=1.5),
    SeedLeaf("211001", "学校收费问题", EDU, natures=("咨询", "投诉", "举报"), weight=1.5),
    SeedLeaf("211002", "入学政策咨询", EDU, natures=("咨询",), weight=1.5, board="群众需求"),
    SeedLeaf("240001", "表扬工作人员", "鞍山市政务服务便民热线", natures=("表扬",), weight=0.5),
    SeedLeaf("301001", "食品安全", MARKET, natures=("投诉", "举报"), weight=2, limit=working_days(15)),
    SeedLeaf("304001", "消费纠纷", MARKET, natures=("投诉",), weight=3),
    SeedLeaf("306001", "价格违法", MARKET, natures=("举报",), weight=1),
    SeedLeaf(
        "314001",
        "企业开办咨询",
        "鞍山市营商环境建设局",
        natures=("咨询", "求助"),
        weight=1.5,
        board="企业服务",
    ),
    SeedLeaf(
        "313001", "涉企政策兑现", "鞍山市工业和信息化局", natures=("求助", "投诉"), weight=1, board="企业服务"
    ),
    SeedLeaf(
        "128001",
        "安全隐患",
        "鞍山市应急管理局",
        natures=("举报", "求助"),
        weight=0.8,
        board="安全预警",
        limit=hours(24),
        urgency="紧急",
    ),
    SeedLeaf(
        "240002",
        "人大代表意见转办",
        "鞍山市信访局",
        natures=("建议",),
        weight=0.3,
        board="两代表一委员意见建议",
    ),
)


def leaves_from_taxonomy(
    leaves: Iterable[Node], department_names: Mapping[str, str] | None = None
) -> tuple[SeedLeaf, ...]:
    """SeedLeaf records from taxonomy leaves; ``department_names`` maps department ids to names."""
    names = department_names or {}
    out = []
    for leaf in leaves:
        limits = leaf_limits_from_catalogue([leaf])
        out.append(
            SeedLeaf(
                code=leaf.code,
                name=leaf.name,
                department=names.get(leaf.department or "", leaf.department or "市热线办"),
                board=leaf.board or DEFAULT_BOARD,
                natures=tuple(leaf.natures) or ("投诉",),
                limit=limits.get(leaf.code),
                urgency=urgency_of_leaf(leaf.urgency),
                heating=leaf.code.startswith("101"),
            )
        )
    return tuple(out)


# Anshan's county-level units (weights: rough share of calls).
DISTRICTS: tuple[tuple[str, float], ...] = (
    ("铁东区", 22),
    ("铁西区", 18),
    ("立山区", 16),
    ("千山区", 6),
    ("海城市", 14),
    ("台安县", 5),
    ("岫岩满族自治县", 5),
    ("高新区", 8),
    ("经开区", 4),
    ("千山风景区", 2),
)
STREETS: tuple[str, ...] = (
    "胜利路",
    "建国大道",
    "人民路",
    "二一九路",
    "解放街",
    "钢都路",
    "园林路",
    "烈士山路",
    "民生路",
    "五一路",
    "铁西三道街",
    "曙光街",
    "鞍千路",
    "千山中路",
    "对炉山路",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
# calls per hour of the day, relative (a 12345 line: quiet nights, mid-morning and afternoon peaks)
HOURLY: tuple[float, ...] = (
    1.0,
    0.6,
    0.4,
    0.3,
    0.3,
    0.5,
    1.2,
    2.5,
    4.5,
    6.0,
    6.0,
    5.5,
    4.0,
    4.5,
    5.5,
    5.5,
    5.0,
    4.2,
    3.5,
    3.2,
    3.0,
    2.6,
    2.0,
    1.4,
)
NATURE_DIRECT_SHARE = {"咨询": 0.75, "求助": 0.15, "投诉": 0.04, "举报": 0.0, "建议": 0.3, "表扬": 0.9}
OPERATOR_NAMES = tuple(f"op{i:02d}" for i in range(1, 25))
SUPERVISOR_NAMES = ("sup01", "sup02", "sup03")
TICKETS_PER_DAY = 1400  # the seed platform: 1,000,000 requests in its first two years
PHONE_PREFIXES: tuple[str, ...] = (  # mobile prefixes of the three carriers
    "138",
    "139",
    "135",
    "136",
    "137",
    "150",
    "151",
    "152",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "186",
    "133",
    "153",
    "180",
    "189",
    "177",
)

# Transfer numbers of some departments for the demo's transfer list (F7), by id of
# taxonomy/source/departments.tsv. MADE UP (extensions on the centre's own exchange), so a demo can
# show departments next to 110/119/120/122; a centre lists its real numbers in its departments file.
DEMO_DEPARTMENT_PHONES: Mapping[str, str] = MappingProxyType(
    {
        "rq": "88906101",  # 鞍山市燃气总公司
        "rl": "88906102",  # 鞍山市热力有限公司
        "swjt": "88906103",  # 鞍山水务集团有限公司
        "gdgs": "88906104",  # 国网鞍山供电公司
        "cgj": "88906201",  # 鞍山市城市管理综合行政执法局
        "zjj": "88906202",  # 鞍山市住房和城乡建设局
        "fcj": "88906203",  # 鞍山市房产事务服务中心
        "sthj": "88906204",  # 鞍山市生态环境局
        "scj": "88906205",  # 鞍山市市场监督管理局
        "rsj": "88906206",  # 鞍山市人力资源和社会保障局
        "gjjt": "88906301",  # 鞍山市公共交通集团有限公司
        "tdq": "88906401",  # 铁东区人民政府
        "txq": "88906402",  # 铁西区人民政府
        "lsq": "88906403",  # 立山区人民政府
        "qsq": "88906404",  # 千山区人民政府
    }
)
