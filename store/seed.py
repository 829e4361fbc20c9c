"""The history generator: a realistic, reproducible hotline history for demos and benchmarks.

``seed(store, tickets=N, days=D, seed=S)`` simulates N work orders created over the D days before
``until`` (default: now) and writes them with their callers, inbound calls (answered, abandoned,
ghost calls rejected by the operator), outbound 回访 calls, evaluations and every TicketEvent.

* Arrivals follow a day/night curve (quiet 0-6 h, peaks mid-morning and mid-afternoon), fewer at
  weekends, more heating complaints in the heating season; some callers call again and again.
* Each ticket is driven through the real lifecycle (``store.lifecycle.plan``, the same pure function
  the ticket service uses), so its events replay to its row: 直接办结 from the knowledge base, or
  派单 → 签收 → 办理中 → 答复 → 办结 → 回访, with late acceptances and replies, 退单 → 改派, 延期
  requested and approved or refused, 催办 and 督办, 不满意 → 重办, 并单 and 归档. Steps whose time is
  after ``until`` do not happen, so recent tickets are still open, as in a live centre.
* Deadlines come from a ``DeadlineCalculator`` (the configured policy plus each leaf's limit).

Speed: everything is simulated in memory and bulk-inserted with Core executemany, a batch of tickets
per transaction; ids are assigned here (tables locked per batch on PostgreSQL, whose sequences are then
moved past them), ticket numbers are reserved through ``store.numbering.reserve_numbers`` so the ticket
service continues after them, and the KPI roll-ups are rebuilt once at the end. The seeded history is
treated as already synchronised: no outbox rows.

The leaf tree below is a PLACEHOLDER until the taxonomy package lands; pass ``leaves=`` to use the
real dispatch catalogue.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import structlog
from sqlalchemy import JSON, Connection, Table, func, select

from store.db import Store
from store.deadlines import DeadlineCalculator, DeadlinePolicy, TimeLimit, leaf_limits_from_catalogue
from store.kpi import rebuild_rollups
from store.lifecycle import (
    CLOSED,
    EVALUATED,
    MERGED,
    FieldChange,
    LifecycleError,
    apply_changes,
    empty_row,
    plan,
)
from store.models import Call, Caller, Evaluation, Ticket, TicketEvent, UTCDateTime
from store.numbering import DEFAULT_PREFIX, format_number, reserve_numbers
from store.tickets import encode_value
from store.workcal import SHANGHAI

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SeedLeaf:
    """One taxonomy leaf as the generator needs it (the real catalogue can be mapped onto this)."""

    code: str
    name: str
    department: str  # the lead department (主办)
    board: str = "群众诉求"
    natures: tuple[str, ...] = ("咨询", "求助", "投诉")
    weight: float = 1.0  # relative frequency
    limit: TimeLimit | None = None  # the catalogue's time limit; None = the policy's rules
    urgency: str = "一般"
    heating: bool = False  # more frequent in the heating season (Nov-Mar)


def _h(n: int) -> TimeLimit:
    return TimeLimit(amount=n, unit="hours")


def _wd(n: int) -> TimeLimit:
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
    SeedLeaf("101001", "暖气不热", HEAT, weight=8, limit=_h(24), heating=True, urgency="紧急"),
    SeedLeaf("101002", "暖气漏水", HEAT, weight=2, limit=_h(2), heating=True, urgency="紧急"),
    SeedLeaf("101003", "供暖收费咨询", HEAT, natures=("咨询",), weight=3, limit=_wd(3), heating=True),
    SeedLeaf("101004", "供暖报停", HEAT, natures=("咨询", "求助"), weight=1.5, heating=True),
    SeedLeaf("102001", "停水", WATER, weight=4, limit=_h(24)),
    SeedLeaf("102002", "水压低", WATER, weight=1.5, limit=_h(24)),
    SeedLeaf("102003", "水质问题", WATER, natures=("投诉", "举报"), weight=1),
    SeedLeaf("102004", "水费咨询", WATER, natures=("咨询",), weight=1.5, limit=_wd(3)),
    SeedLeaf("104001", "停电", POWER, weight=3, limit=_h(24)),
    SeedLeaf("104002", "电压不稳", POWER, weight=1, limit=_h(24)),
    SeedLeaf("104003", "电费咨询", POWER, natures=("咨询",), weight=1, limit=_wd(3)),
    SeedLeaf("105001", "燃气异味", GAS, weight=0.6, limit=_h(2), urgency="特急"),
    SeedLeaf("105002", "燃气停气", GAS, weight=0.8, limit=_h(24)),
    SeedLeaf("107001", "物业服务", HOUSING, natures=("投诉", "求助", "建议"), weight=5),
    SeedLeaf("107002", "楼道照明损坏", HOUSING, weight=1.5),
    SeedLeaf("106001", "电梯故障", HOUSING, weight=1.5, limit=_h(24), urgency="紧急"),
    SeedLeaf("109001", "房屋漏雨", HOUSING, weight=1.5),
    SeedLeaf("122001", "占道经营", CITY, natures=("投诉", "举报"), weight=2.5),
    SeedLeaf("113001", "垃圾清运不及时", CITY, weight=2.5),
    SeedLeaf("111001", "违章建筑", CITY, natures=("投诉", "举报"), weight=1.5, limit=_wd(15)),
    SeedLeaf("116001", "路灯不亮", CITY, weight=1.5),
    SeedLeaf("112001", "噪声扰民", ENV, natures=("投诉", "举报"), weight=3, board="环保"),
    SeedLeaf("226001", "油烟污染", ENV, natures=("投诉", "举报"), weight=1.5, board="环保"),
    SeedLeaf("226002", "工业废气", ENV, natures=("举报",), weight=0.5, board="环保", limit=_wd(15)),
    SeedLeaf("119001", "公交线路建议", TRAFFIC, natures=("建议", "咨询"), weight=1),
    SeedLeaf("120001", "出租车拒载", TRAFFIC, natures=("投诉",), weight=1),
    SeedLeaf("115001", "道路破损", TRAFFIC, weight=1.5),
    SeedLeaf("201001", "拖欠工资", LABOUR, natures=("求助", "投诉", "举报"), weight=4, limit=_wd(5)),
    SeedLeaf("206001", "社保缴费咨询", LABOUR, natures=("咨询",), weight=3, limit=_wd(3)),
    SeedLeaf("202001", "劳动合同纠纷", LABOUR, natures=("咨询", "求助", "投诉"), weight=1.5, limit=_wd(10)),
    SeedLeaf("203001", "就业创业政策咨询", LABOUR, natures=("咨询",), weight=1.5, board="群众需求"),
    SeedLeaf("207001", "医保报销咨询", "鞍山市医疗保障局", natures=("咨询",), weight=2),
    SeedLeaf("208001", "医疗服务投诉", HEALTH, natures=("投诉", "建议"), weight=1.5),
    SeedLeaf("211001", "学校收费问题", EDU, natures=("咨询", "投诉", "举报"), weight=1.5),
    SeedLeaf("211002", "入学政策咨询", EDU, natures=("咨询",), weight=1.5, board="群众需求"),
    SeedLeaf("240001", "表扬工作人员", "鞍山市政务服务便民热线", natures=("表扬",), weight=0.5),
    SeedLeaf("301001", "食品安全", MARKET, natures=("投诉", "举报"), weight=2, limit=_wd(15)),
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
        limit=_h(24),
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

_URGENCY = {"normal": "一般", "high": "紧急", "critical": "特急"}


def leaves_from_taxonomy(
    leaves: Iterable[Any], department_names: Mapping[str, str] | None = None
) -> tuple[SeedLeaf, ...]:
    """SeedLeaf records from taxonomy leaves (taxonomy.model.Node: code, name, department, board,
    natures, time_limit, urgency); ``department_names`` maps department ids to names."""
    names = department_names or {}
    out = []
    for leaf in leaves:
        limits = leaf_limits_from_catalogue([leaf])
        out.append(
            SeedLeaf(
                code=leaf.code,
                name=leaf.name,
                department=names.get(leaf.department, leaf.department or "市热线办"),
                board=leaf.board or "群众诉求",
                natures=tuple(leaf.natures) or ("投诉",),
                limit=limits.get(leaf.code),
                urgency=_URGENCY.get(leaf.urgency, "一般"),
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
OPERATORS = tuple(f"op{i:02d}" for i in range(1, 25))
SUPERVISORS = ("sup01", "sup02", "sup03")
TICKETS_PER_DAY = 1400  # the seed platform: 1,000,000 requests in its first two years
H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)


@dataclass
class SeedReport:
    tickets: int = 0
    events: int = 0
    calls: int = 0
    callers: int = 0
    evaluations: int = 0
    refused_steps: int = 0  # simulated steps the lifecycle refused (skipped)
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)


@dataclass
class _Ids:
    """The next free id of each table with an integer key (read inside each batch's transaction)."""

    ticket: int
    event: int
    caller: int
    evaluation: int


@dataclass
class _Batch:
    tickets: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)  # in EVENT_COLUMNS order
    calls: list[dict[str, Any]] = field(default_factory=list)
    callers: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)


class _Encoder:
    """``store.tickets.encode_value`` with a cache for the many repeated values (statuses, names ...)."""

    def __init__(self) -> None:
        self._text: dict[str, str | None] = {}  # str values (most of them)
        self._other: dict[tuple[type, Any], str | None] = {}

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        kind = type(value)
        if kind is str:
            if value.isprintable() and '"' not in value and "\\" not in value:
                return f'"{value}"'  # json.dumps(ensure_ascii=False) escapes nothing else
            hit = self._text.get(value)
            if hit is None:
                hit = encode_value(value)
                if len(self._text) < 200_000:
                    self._text[value] = hit
            return hit
        if kind is dt.datetime:
            # what encode_value writes, without json.dumps (the text is ASCII; a test checks equality)
            utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
            return f'"{utc.isoformat(timespec="microseconds")}"'
        key = (kind, tuple(value) if kind is list else value)
        hit = self._other.get(key)
        if hit is None:
            hit = self._other[key] = encode_value(value)
        return hit


class _Simulator:
    """Drives one ticket through the lifecycle in memory, collecting rows."""

    def __init__(
        self,
        rng: random.Random,
        calc: DeadlineCalculator,
        until: dt.datetime,
        batch: _Batch,
        ids: _Ids,
        report: SeedReport,
        encode: _Encoder,
        db_time: Callable[[dt.datetime], Any],
    ) -> None:
        self.rng, self.calc, self.until, self.batch, self.db_time = rng, calc, until, batch, db_time
        self.ids, self.report, self.encode = ids, report, encode
        self.row: dict[str, Any] = {}
        self.seq = 0
        self.version = 0
        self.last: dt.datetime = until

    def step(self, command: str, at: dt.datetime, actor: str, role: str, **args: Any) -> bool:
        """Apply ``command`` at ``at`` if that is not in the future; False if it did not happen."""
        if at > self.until:
            return False
        try:
            changes = plan(command, self.row, role, args, at, self.calc)
        except LifecycleError:
            self.report.refused_steps += 1
            return False
        self._record(changes, command, at, actor, role, args.get("reason"))
        return True

    def _record(
        self,
        changes: list[FieldChange],
        command: str,
        at: dt.datetime,
        actor: str,
        role: str,
        reason: str | None,
    ) -> None:
        if not changes:
            return
        self.row = apply_changes(self.row, changes)
        ticket_id = self.row["id"]
        at_db, encode, append = self.db_time(at), self.encode, self.batch.events.append
        event_id, seq = self.ids.event, self.seq
        for change in changes:
            seq += 1
            append(
                (
                    event_id,
                    ticket_id,
                    seq,
                    at_db,
                    actor,
                    role,
                    command,
                    change.field,
                    encode(change.old),
                    encode(change.new),
                    reason,
                )
            )
            event_id += 1
        self.ids.event, self.seq = event_id, seq
        self.version += 1
        self.last = at

    def create(self, ticket_id: int, at: dt.datetime, args: dict[str, Any]) -> None:
        self.row, self.seq, self.version = {**empty_row(), "id": ticket_id}, 0, 0
        changes = plan("create", {}, "operator", args, at, self.calc)
        self._record(changes, "create", at, args["created_by"], "operator", None)

    def ticket_row(self) -> dict[str, Any]:
        row = dict(self.row)
        row["updated_at"], row["version"] = self.last, self.version
        return row


def _wait(rng: random.Random, median_hours: float, sigma: float = 0.8) -> dt.timedelta:
    return dt.timedelta(hours=median_hours * rng.lognormvariate(0, sigma))


class _History:
    """The whole generator: arrival times, callers, and each ticket's story."""

    def __init__(
        self,
        rng: random.Random,
        calc: DeadlineCalculator,
        leaves: Sequence[SeedLeaf],
        until: dt.datetime,
        n_tickets: int,
        taxonomy_version: str | None,
    ) -> None:
        self.rng, self.calc, self.leaves, self.until = rng, calc, leaves, until
        self.taxonomy_version = taxonomy_version
        # cumulative weights: random.choices then bisects instead of summing thousands of leaves per call
        self.leaf_weights = list(accumulate(leaf.weight for leaf in leaves))
        self.heating_weights = list(
            accumulate(leaf.weight * (3.0 if leaf.heating else 1.0) for leaf in leaves)
        )
        self.district_names = [d for d, _ in DISTRICTS]
        self.district_weights = list(accumulate(w for _, w in DISTRICTS))
        self.pool = max(10, int(n_tickets * 0.7))  # callers; a few call many times
        self.frequent = max(1, self.pool // 50)
        self.recent_open: list[tuple[int, str]] = []  # (ticket id, leaf code): candidates for 并单

    # --- who and what ---

    def caller_index(self) -> int:
        if self.rng.random() < 0.15:
            return self.rng.randrange(self.frequent)
        return self.rng.randrange(self.pool)

    @staticmethod
    def phone(index: int) -> str:
        prefixes = (
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
        return f"+86{prefixes[index % len(prefixes)]}{index // len(prefixes):08d}"

    def caller_name(self, index: int) -> str:
        return SURNAMES[index % len(SURNAMES)] + ("先生" if index % 3 else "女士")

    def leaf(self, at: dt.datetime) -> SeedLeaf:
        month = at.astimezone(SHANGHAI).month
        weights = self.heating_weights if month in (11, 12, 1, 2, 3) else self.leaf_weights
        return self.rng.choices(self.leaves, cum_weights=weights)[0]

    # --- one ticket ---

    def story(
        self,
        sim: _Simulator,
        ticket_id: int,
        number: str,
        crid: str,
        at: dt.datetime,
        caller_id: int,
        caller_index: int,
    ) -> None:
        rng = self.rng
        leaf = self.leaf(at)
        nature = rng.choice(leaf.natures)
        district = rng.choices(self.district_names, cum_weights=self.district_weights)[0]
        street = rng.choice(STREETS)
        operator = rng.choice(OPERATORS)
        urgency = leaf.urgency if rng.random() < 0.7 else "一般"
        consent = rng.random() < 0.9
        sim.create(
            ticket_id,
            at,
            {
                "number": number,
                "client_request_id": crid,
                "nature": nature,
                "board": leaf.board,
                "leaf_code": leaf.code,
                "taxonomy_version": self.taxonomy_version,
                "district": district,
                "street": street,
                "address": f"{district}{street}{rng.randint(1, 300)}号",
                "urgency": urgency,
                "description": f"来电人反映{district}{street}附近{leaf.name}问题，请相关部门核实处理。",
                "channel": "phone" if rng.random() < 0.9 else "web",
                "caller_id": caller_id,
                "caller_name": self.caller_name(caller_index),
                "caller_phone": self.phone(caller_index),
                "callback_consent": consent,
                "created_by": operator,
            },
        )
        t = at + rng.randint(1, 6) * MIN
        # 并单: a repeat of a recent open request about the same leaf
        if self.recent_open and rng.random() < 0.02:
            parent_id, parent_leaf = self.recent_open[-1 - rng.randrange(min(20, len(self.recent_open)))]
            same_matter = parent_leaf == leaf.code or rng.random() < 0.3
            if same_matter and sim.step(
                "merge", t, operator, "operator", parent_id=parent_id, parent_status="已派单"
            ):
                self._archive(sim, t + 7 * 24 * H)
                return
        if rng.random() < NATURE_DIRECT_SHARE.get(nature, 0.1):
            sim.step(
                "close_direct",
                t,
                operator,
                "operator",
                answer=f"已按知识库解答：{leaf.name}相关政策及办理渠道。",
            )
            self._evaluate(sim, t, direct=True)
            self._archive(sim, sim.last + 7 * 24 * H)
            return
        self.recent_open.append((ticket_id, leaf.code))
        if len(self.recent_open) > 200:
            del self.recent_open[:100]
        dept = leaf.department
        co = [f"{district}人民政府"] if rng.random() < 0.1 else []
        t += rng.randint(2, 40) * MIN
        if not sim.step("dispatch", t, operator, "operator", department=dept, co_departments=co):
            return
        self._department_works(sim, t, first=True)

    def _department_works(self, sim: _Simulator, dispatched: dt.datetime, first: bool) -> None:
        rng = self.rng
        deadline: dt.datetime = sim.row["deadline"]
        limit = deadline - dispatched
        # 退单 (about 6%), within the 2-working-day window, then the hotline re-dispatches
        if first and rng.random() < 0.06:
            t = dispatched + _wait(rng, 3)
            if sim.step("return", t, "backend", "backend", reason="非本单位职责，建议转属地政府"):
                t += _wait(rng, 2)
                other = rng.choice([leaf.department for leaf in self.leaves])
                if other == sim.row["department"]:
                    other = f"{sim.row['district']}人民政府"
                if sim.step("reassign", t, rng.choice(SUPERVISORS), "supervisor", department=other):
                    self._department_works(sim, t, first=False)
                return
        # 签收: usually within a few hours; ~8% later than a day
        # short limits (emergencies, utilities) are signed for and started in minutes, not hours
        pace = min(1.0, limit / (48 * H))
        accept_at = dispatched + (_wait(rng, 2 * pace) if rng.random() > 0.08 else _wait(rng, 30, 0.4))
        if not sim.step("accept", accept_at, "backend", "backend"):
            return
        t = accept_at + _wait(rng, pace)
        if not sim.step("start", t, "backend", "backend"):
            return
        late = rng.random() < 0.07
        if rng.random() < 0.05:  # 延期 requested before expiry
            req = t + (deadline - t) * rng.uniform(0.3, 0.8)
            days = rng.randint(2, 10)
            if sim.step(
                "request_extension",
                req,
                "backend",
                "backend",
                reason="需现场勘查，申请延期",
                extension_days=days,
            ):
                dec = req + _wait(rng, 4)
                if rng.random() < 0.8:
                    sim.step("approve_extension", dec, rng.choice(SUPERVISORS), "supervisor")
                else:
                    sim.step(
                        "refuse_extension", dec, rng.choice(SUPERVISORS), "supervisor", reason="理由不充分"
                    )
                deadline = sim.row["deadline"]
                limit = deadline - dispatched
        if rng.random() < 0.12:  # 催办 before expiry
            sim.step("urge", dispatched + limit * rng.uniform(0.5, 0.9), rng.choice(OPERATORS), "operator")
        if late:
            reply_at = deadline + _wait(rng, 20, 1.0)
            if rng.random() < 0.6:
                sim.step("supervise", deadline + _wait(rng, 3), "system", "system")
        else:
            reply_at = max(sim.last, t) + (deadline - max(sim.last, t)) * rng.uniform(0.2, 0.95)
        reply_at = max(reply_at, sim.last + MIN)
        if not sim.step("reply", reply_at, "backend", "backend", answer="经核实已处理完毕，已与来电人沟通。"):
            return
        review = _wait(rng, 3)
        if not late and deadline > reply_at:  # the hotline reviews on time unless the reply was late
            review = min(review, (deadline - reply_at) * rng.uniform(0.2, 0.98))
        close_at = reply_at + review
        if not sim.step("close", close_at, rng.choice(OPERATORS), "operator"):
            return
        if self._evaluate(sim, close_at, direct=False):
            self._department_works_again(sim)
            return
        self._archive(sim, sim.last + 7 * 24 * H)

    def _department_works_again(self, sim: _Simulator) -> None:
        """After 不满意 blamed on the department (重办): another round, usually satisfying."""
        rng = self.rng
        t = sim.last
        deadline: dt.datetime = sim.row["deadline"]
        reply_at = t + (deadline - t) * rng.uniform(0.3, 1.05)
        if not sim.step("reply", reply_at, "backend", "backend", answer="重办后已再次处理并回复来电人。"):
            return
        close_at = reply_at + _wait(rng, 3)
        if sim.step("close", close_at, rng.choice(OPERATORS), "operator"):
            sim.step(
                "evaluate",
                close_at + _wait(rng, 22, 0.2),
                rng.choice(OPERATORS),
                "operator",
                satisfaction=rng.choice(("满意", "满意", "基本满意")),
            )
            self._archive(sim, sim.last + 7 * 24 * H)

    def _evaluate(self, sim: _Simulator, closed_at: dt.datetime, direct: bool) -> bool:
        """回访 the next day; True when the department must re-handle."""
        rng = self.rng
        if not sim.row.get("callback_consent") or rng.random() < (0.5 if direct else 0.12):
            return False
        at = closed_at + _wait(rng, 22, 0.2)
        roll = rng.random()
        operator = rng.choice(OPERATORS)
        call_id = self._callback_call(at, sim)
        if roll < 0.80:
            ok = sim.step("evaluate", at, operator, "operator", satisfaction="满意")
            verdict, fault = "满意", False
        elif roll < 0.95:
            ok = sim.step("evaluate", at, operator, "operator", satisfaction="基本满意")
            verdict, fault = "基本满意", False
        else:
            fault = not direct and rng.random() < 0.6
            verdict = "不满意"
            ok = sim.step(
                "evaluate",
                at,
                operator,
                "operator",
                satisfaction="不满意",
                reason="问题未解决" if fault else "对政策不满意",
                department_at_fault=fault,
            )
        if ok:
            sim.batch.evaluations.append(
                {
                    "id": sim.ids.evaluation,
                    "ticket_id": sim.row["id"],
                    "at": at,
                    "user_id": None,
                    "call_id": call_id,
                    "result": verdict,
                    "department_at_fault": fault,
                    "comment": None,
                }
            )
            sim.ids.evaluation += 1
            sim.report.evaluations += 1
        else:
            sim.batch.calls.pop()  # the callback did not happen either
        return ok and fault

    def _callback_call(self, at: dt.datetime, sim: _Simulator) -> str:
        cid = uuid.UUID(int=self.rng.getrandbits(128)).hex
        sim.batch.calls.append(
            _call_row(
                cid,
                "out",
                None,
                sim.row.get("caller_phone") or "",
                at,
                at + 8 * dt.timedelta(seconds=1),
                at + dt.timedelta(seconds=self.rng.randint(40, 180)),
                "local_hangup",
                sim.row["id"],
            )
        )
        return cid

    def _archive(self, sim: _Simulator, at: dt.datetime) -> None:
        if sim.row.get("status") in (CLOSED, EVALUATED, MERGED) and self.rng.random() < 0.5:
            sim.step("archive", at, "system", "system")


def _call_row(
    cid: str,
    direction: str,
    caller_id: int | None,
    number: str,
    offered: dt.datetime,
    answered: dt.datetime | None,
    ended: dt.datetime | None,
    reason: str | None,
    ticket_id: int | None,
) -> dict[str, Any]:
    national = number[3:] if number.startswith("+86") else number
    return {
        "id": cid,
        "direction": direction,
        "caller_id": caller_id,
        "remote_number": national,
        "display_name": None,
        "user_id": None,
        "queue": "12345" if direction == "in" else None,
        "offered_at": offered,
        "answered_at": answered,
        "ended_at": ended,
        "end_reason": reason,
        "disposition": None,
        "recording_path": None,
        "ticket_id": ticket_id,
        "callback_done": False,
    }


def _arrivals(rng: random.Random, n: int, days: int, until: dt.datetime) -> list[dt.datetime]:
    """n creation times over the ``days`` days before ``until``, following the day/night curve."""
    first_day = (until.astimezone(SHANGHAI) - dt.timedelta(days=days)).date()
    day_weights = []
    for i in range(days):
        d = first_day + dt.timedelta(days=i + 1)
        day_weights.append((0.8 if d.weekday() >= 5 else 1.0) * rng.uniform(0.85, 1.15))
    day_idx = rng.choices(range(days), day_weights, k=n)
    hours = rng.choices(range(24), HOURLY, k=n)
    out = []
    for di, hour in zip(day_idx, hours, strict=True):
        d = first_day + dt.timedelta(days=di + 1)
        local = dt.datetime(
            d.year,
            d.month,
            d.day,
            hour,
            rng.randrange(60),
            rng.randrange(60),
            rng.randrange(1_000_000),
            tzinfo=SHANGHAI,
        )
        moment = local.astimezone(dt.UTC)
        out.append(moment if moment <= until else until - dt.timedelta(seconds=rng.randint(1, 3600)))
    out.sort()
    return out


def _next_ids(conn: Connection) -> _Ids:
    def nxt(table: Table) -> int:
        return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1

    return _Ids(
        ticket=nxt(Ticket.__table__),
        event=nxt(TicketEvent.__table__),
        caller=nxt(Caller.__table__),
        evaluation=nxt(Evaluation.__table__),
    )


_ID_TABLES = ("tickets", "ticket_events", "callers", "evaluations")


def _lock_for_bulk(conn: Connection) -> None:
    # PostgreSQL: no other writer may take ids while a batch assigns them (SQLite: BEGIN IMMEDIATE)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size = -131072")  # 128 MiB: index inserts stay in memory
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {', '.join(_ID_TABLES)}, calls IN SHARE ROW EXCLUSIVE MODE")


def _advance_sequences(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        for table in _ID_TABLES:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            )


def seed(
    store: Store,
    tickets: int = 1000,
    days: int | None = None,
    seed: int = 0,
    *,
    leaves: Sequence[SeedLeaf] = PLACEHOLDER_LEAVES,
    taxonomy_version: str | None = None,
    policy: DeadlinePolicy | None = None,
    until: dt.datetime | None = None,
    prefix: str = DEFAULT_PREFIX,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Write a simulated history of ``tickets`` work orders over the ``days`` days before ``until``
    (default: the seed platform's pace of about 1,400 a day)."""
    days = days if days is not None else max(1, -(-tickets // TICKETS_PER_DAY))
    if tickets < 0 or days < 1:
        raise ValueError("tickets must be >= 0 and days >= 1")
    if not leaves:
        raise ValueError("no leaves to seed from")
    started = time.perf_counter()
    rng = random.Random(seed)
    until = (until or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    calc = DeadlineCalculator(policy, leaf_limits={leaf.code: leaf.limit for leaf in leaves if leaf.limit})
    if taxonomy_version is None and leaves is PLACEHOLDER_LEAVES:
        taxonomy_version = "placeholder-1"
    history = _History(rng, calc, leaves, until, tickets, taxonomy_version)
    report = SeedReport()
    encode = _Encoder()
    arrivals = _arrivals(rng, tickets, days, until)
    seen_callers: dict[int, int] = {}  # caller index → id
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    for start in range(0, tickets, batch_size):
        chunk = arrivals[start : start + batch_size]
        with store.engine.begin() as conn:
            _lock_for_bulk(conn)
            ids = _next_ids(conn)
            numbers = _reserve(conn, chunk, prefix)
            batch = _Batch()
            sim = _Simulator(rng, calc, until, batch, ids, report, encode, _db_time(conn))
            who = [history.caller_index() for _ in chunk]
            _assign_callers(conn, history, who, chunk, seen_callers, ids, batch)
            for i, at in enumerate(chunk):
                idx = who[i]
                caller_id = seen_callers[idx]
                ticket_id = ids.ticket
                ids.ticket += 1
                history.story(sim, ticket_id, numbers[i], f"seed-{run}-{start + i}", at, caller_id, idx)
                if sim.row["channel"] == "phone":
                    _intake_calls(rng, batch, caller_id, history.phone(idx), at, ticket_id)
                batch.tickets.append(sim.ticket_row())
                report.by_status[sim.row["status"]] += 1
            _write(conn, batch)
            _advance_sequences(conn)
        report.tickets += len(batch.tickets)
        report.events += len(batch.events)
        report.calls += len(batch.calls)
        report.callers += len(batch.callers)
        if progress:
            progress(report.tickets, tickets)
    # the triggers of migration 0003 marked every seeded day dirty: one rebuild (one pass over the
    # tickets) clears them, so the first report after a seed reads the roll-ups at once
    with store.engine.begin() as conn:
        rebuild_rollups(conn)
    report.seconds = time.perf_counter() - started
    log.info(
        "seed.done",
        tickets=report.tickets,
        events=report.events,
        calls=report.calls,
        seconds=round(report.seconds, 1),
    )
    return report


def _assign_callers(
    conn: Connection,
    history: _History,
    who: list[int],
    chunk: Sequence[dt.datetime],
    seen: dict[int, int],
    ids: _Ids,
    batch: _Batch,
) -> None:
    """Caller ids for the chunk: known ones, ones already in the store (same phone: the same citizen
    calling again, e.g. from an earlier seed), or new rows."""
    first_call: dict[int, dt.datetime] = {}
    for idx, at in zip(who, chunk, strict=True):
        if idx not in seen:
            first_call.setdefault(idx, at)
    phones = {history.phone(idx): idx for idx in first_call}
    names = list(phones)
    for i in range(0, len(names), 5000):
        part = names[i : i + 5000]
        for phone, caller_id in conn.execute(select(Caller.phone, Caller.id).where(Caller.phone.in_(part))):
            seen[phones.pop(phone)] = caller_id
    for phone, idx in phones.items():
        seen[idx] = ids.caller
        batch.callers.append(
            {
                "id": ids.caller,
                "phone": phone,
                "name": history.caller_name(idx),
                "created_at": first_call[idx],
            }
        )
        ids.caller += 1


def _reserve(conn: Connection, chunk: Sequence[dt.datetime], prefix: str) -> list[str]:
    """Ticket numbers for the chunk, reserved from the per-day counters the ticket service uses."""
    from sqlalchemy.orm import Session  # reserve_numbers works on a session; bind one to this connection

    per_day = Counter(at.astimezone(SHANGHAI).date() for at in chunk)
    with Session(bind=conn) as session:
        ranges = {day: iter(reserve_numbers(session, day, n, prefix)) for day, n in sorted(per_day.items())}
    out = []
    for at in chunk:
        day = at.astimezone(SHANGHAI).date()
        out.append(format_number(prefix, day.strftime("%Y%m%d"), next(ranges[day])))
    return out


def _intake_calls(
    rng: random.Random, batch: _Batch, caller_id: int, phone: str, at: dt.datetime, ticket_id: int
) -> None:
    """The call that became this ticket, sometimes preceded by an abandoned try or a ghost call."""
    if rng.random() < 0.08:  # gave up waiting first
        off = at - dt.timedelta(minutes=rng.randint(10, 120))
        batch.calls.append(
            _call_row(
                uuid.UUID(int=rng.getrandbits(128)).hex,
                "in",
                caller_id,
                phone,
                off,
                None,
                off + dt.timedelta(seconds=rng.randint(5, 90)),
                "abandoned",
                None,
            )
        )
    if rng.random() < 0.02:  # silent line, rejected as a ghost call
        off = at - dt.timedelta(minutes=rng.randint(130, 300))
        batch.calls.append(
            _call_row(
                uuid.UUID(int=rng.getrandbits(128)).hex,
                "in",
                None,
                phone,
                off,
                None,
                off + dt.timedelta(seconds=4),
                "rejected",
                None,
            )
        )
    wait = dt.timedelta(seconds=min(600.0, rng.lognormvariate(1.9, 0.8)))  # median ~7 s
    offered = at - dt.timedelta(seconds=rng.randint(60, 400)) - wait
    ended = at + dt.timedelta(seconds=rng.randint(10, 120))
    batch.calls.append(
        _call_row(
            uuid.UUID(int=rng.getrandbits(128)).hex,
            "in",
            caller_id,
            phone,
            offered,
            offered + wait,
            ended,
            rng.choice(("remote_bye", "local_hangup")),
            ticket_id,
        )
    )


EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "ticket_id",
    "seq",
    "at",
    "actor",
    "actor_role",
    "command",
    "field",
    "old",
    "new",
    "reason",
)


def _utc_text(value: dt.datetime) -> str:
    # the text SQLAlchemy's SQLite DATETIME stores (UTC, as store.models.UTCDateTime hands it over)
    utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(" ", "microseconds")


def _db_time(conn: Connection) -> Callable[[dt.datetime], Any]:
    """How a datetime is passed to the driver directly (bulk inserts skip SQLAlchemy's bind processing)."""
    return _utc_text if conn.dialect.name == "sqlite" else (lambda v: v)


def _rows_for_driver(
    table: Table, rows: list[dict[str, Any]], db_time: Callable[[dt.datetime], Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and value tuples, with datetimes and JSON converted the way the store's types do."""
    names = [c.name for c in table.columns]
    times = [i for i, c in enumerate(table.columns) if isinstance(c.type, UTCDateTime)]
    jsons = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
    getter = operator.itemgetter(*names)
    out = []
    for row in rows:
        values = list(getter(row))
        for i in times:
            if values[i] is not None:
                values[i] = db_time(values[i])
        for i in jsons:
            if values[i] is not None:
                values[i] = json.dumps(values[i], ensure_ascii=False)
        out.append(tuple(values))
    return names, out


def _insert_sql(conn: Connection, table: Table, columns: Sequence[str]) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], values: list[tuple[Any, ...]]
) -> None:
    """SQLite: the driver's executemany; PostgreSQL: COPY (executemany is ~10x slower there)."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in values:
                copy.write_row(row)
        return
    conn.exec_driver_sql(_insert_sql(conn, table, columns), values)


def _write(conn: Connection, batch: _Batch) -> None:
    """Bulk inserts straight through the driver (Core's per-value bind processing is the bottleneck at
    tens of millions of event rows); values are converted here the way the store's column types do."""
    db_time = _db_time(conn)
    for table, rows in (
        (Caller.__table__, batch.callers),
        (Ticket.__table__, batch.tickets),
        (Call.__table__, batch.calls),
        (Evaluation.__table__, batch.evaluations),
    ):
        if rows:
            names, values = _rows_for_driver(table, rows, db_time)
            _bulk_insert(conn, table, names, values)
    if batch.events:
        _bulk_insert(conn, TicketEvent.__table__, EVENT_COLUMNS, batch.events)
