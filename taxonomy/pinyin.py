"""Pinyin keys for aliases and queries, and the query normaliser.

``pinyin_keys(text)`` gives ``(full, initials)``: full pinyin without tones or separators and the first
letter of every syllable. Conversion is pypinyin's phrase-aware default (调解 → tiaojie, 银行 → yinhang);
heteronyms are never expanded blindly. A small override list (word → syllables) fixes local names and
readings operators actually type (朝阳 → chaoyang). ASCII letters and digits inside the text are kept as
whole lower-case tokens in both keys (5G信号 → "5gxinhao", "5gxh"); everything else is dropped.

The build step runs this once per alias and stores the result, so searching never has to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import structlog

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "source" / "pinyin_overrides.tsv"

_SYLLABLE_RE = re.compile(r"^[a-z]+$")
# Runs of CJK ideographs (BMP + extension A) versus runs of ASCII letters/digits.
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class PinyinOverrideError(ValueError):
    """A malformed line in the override list (message carries file and line number)."""


def load_overrides(path: Path | None = None) -> Mapping[str, tuple[str, ...]]:
    """Read ``word<TAB>syl syl ...`` lines (``#`` comments). One syllable per CJK character of the word."""
    source = path or DEFAULT_OVERRIDES_PATH
    overrides: dict[str, tuple[str, ...]] = {}
    for lineno, raw in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = re.split(r"\t+|\s{2,}", line, maxsplit=1)
        if len(parts) != 2:
            raise PinyinOverrideError(f"{source}:{lineno}: expected 'word<TAB>syllables', got {raw!r}")
        word, reading = parts[0].strip(), parts[1].strip().lower()
        syllables = tuple(s for s in re.split(r"[\s']+", reading) if s)
        if not word or not all(_CJK_RE.fullmatch(ch) for ch in word):
            raise PinyinOverrideError(f"{source}:{lineno}: word must be Chinese characters only: {word!r}")
        if len(syllables) != len(word) or not all(_SYLLABLE_RE.match(s) for s in syllables):
            raise PinyinOverrideError(
                f"{source}:{lineno}: {word!r} needs {len(word)} space-separated a-z syllables, got {reading!r}"
            )
        if word in overrides:
            raise PinyinOverrideError(f"{source}:{lineno}: duplicate override for {word!r}")
        overrides[word] = syllables
    return MappingProxyType(overrides)


def _readings(text: str) -> list[str]:
    """pypinyin's phrase-aware readings of ``text``. pypinyin is imported at the first conversion:
    its phrase tables cost about 0.25 s, which the console should not pay before its login screen."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(text)


@dataclass(frozen=True)
class PinyinConverter:
    """Converts text to pinyin keys with a fixed override list (longest override wins)."""

    overrides: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = sorted(self.overrides, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, words))) if words else None
        object.__setattr__(self, "_pattern", pattern)

    def tokens(self, text: str) -> list[tuple[str, bool]]:
        """``(syllable, is_ascii)`` pairs: pinyin syllables of CJK runs, ASCII tokens lower-cased whole."""
        out: list[tuple[str, bool]] = []
        for token in _TOKEN_RE.findall(text):
            if _CJK_RE.match(token):
                # pypinyin returns a character unchanged when it knows no reading; drop those.
                out.extend((s, False) for s in self._cjk_syllables(token) if _SYLLABLE_RE.match(s))
            else:
                out.append((token.lower(), True))
        return out

    def _cjk_syllables(self, run: str) -> list[str]:
        if self._pattern is None:
            return _readings(run)
        out: list[str] = []
        pos = 0
        for match in self._pattern.finditer(run):
            if match.start() > pos:
                out.extend(_readings(run[pos : match.start()]))
            out.extend(self.overrides[match.group()])
            pos = match.end()
        if pos < len(run):
            out.extend(_readings(run[pos:]))
        return out

    def keys(self, text: str) -> tuple[str, str]:
        """``(full, initials)`` of ``text``; ASCII tokens appear whole in both."""
        tokens = self.tokens(text)
        full = "".join(s for s, _ in tokens)
        initials = "".join(s if is_ascii else s[0] for s, is_ascii in tokens)
        return full, initials


@lru_cache(maxsize=1)
def default_converter() -> PinyinConverter:
    """The converter with the shipped override list (read once; the result is immutable).

    An installation without the source folder still converts, with pypinyin's defaults only.
    """
    try:
        return PinyinConverter(load_overrides())
    except FileNotFoundError:
        structlog.get_logger(__name__).warning("pinyin.overrides_missing", path=str(DEFAULT_OVERRIDES_PATH))
        return PinyinConverter()


def pinyin_keys(text: str, converter: PinyinConverter | None = None) -> tuple[str, str]:
    """``(full pinyin, initials)`` of ``text``: 暖气不热 → ("nuanqibure", "nqbr"), 朝阳 → ("chaoyang", "cy")."""
    return (converter or default_converter()).keys(text)


def query_pinyin(query: str, converter: PinyinConverter | None = None) -> str:
    """Full pinyin of a (normalised) query, for catching IME homophone mis-picks."""
    return (converter or default_converter()).keys(query)[0]


# ---------------------------------------------------------------------------------------------------------
# Query normaliser

# Traditional → simplified for characters a caller's or operator's text plausibly contains. Pairs are
# written "繁简"; ambiguous ones (乾, 著, 瞭, 藉) are left out on purpose.
_TRAD_SIMP_PAIRS = """
氣气 電电 話话 樓楼 區区 熱热 費费 號号 單单 門门 問问 題题 車车 馬马 鐵铁 東东 葉叶 們们 這这 個个 來来 時时
對对 說说 還还 沒没 點点 開开 關关 會会 過过 發发 麼么 錢钱 為为 無无 與与 業业 務务 處处 辦办 證证 學学 醫医
療疗 藥药 險险 戶户 體体 壞坏 維维 護护 裝装 設设 備备 聲声 環环 衛卫 燈灯 橋桥 綠绿 園园 廣广 場场 層层 廳厅
應应 當当 該该 級级 線线 網网 絡络 絲丝 紅红 統统 結结 給给 約约 紙纸 練练 組组 經经 濟济 價价 鄰邻 鄉乡 縣县
鎮镇 聯联 買买 賣卖 貨货 貸贷 資资 質质 購购 賠赔 償偿 負负 責责 貴贵 賬账 員员 圍围 國国 圖图 團团 歲岁 歷历
壓压 廠厂 廢废 廁厕 廚厨 樣样 標标 機机 檢检 權权 橫横 條条 極极 欄栏 歸归 殘残 漢汉 湯汤 溫温 滅灭 潔洁 濕湿
灣湾 燒烧 煙烟 爐炉 牆墙 狀状 獎奖 獨独 現现 產产 産产 畫画 盡尽 監监 盤盘 礦矿 碼码 確确 禮礼 種种 稅税 穩稳
窮穷 競竞 筆笔 節节 範范 築筑 簡简 糧粮 緊紧 總总 繳缴 續续 罰罚 羅罗 聽听 職职 腦脑 臨临 藝艺 蘇苏 蟲虫 補补
裡里 複复 見见 規规 視视 覺觉 親亲 觀观 計计 訂订 認认 討讨 訓训 記记 訪访 許许 診诊 試试 詢询 詳详 誤误 請请
諮咨 調调 談谈 論论 謝谢 講讲 識识 讓让 貓猫 豬猪 財财 販贩 貼贴 賽赛 趕赶 軍军 軟软 較较 載载 輛辆 輕轻 輪轮
輸输 轉转 農农 運运 進进 遠远 違违 連连 遲迟 選选 遺遗 郵邮 針针 鋼钢 錄录 錯错 鍋锅 鎖锁 鐘钟 長长 閉闭 間间
閘闸 闆板 隊队 陽阳 陰阴 陳陈 際际 隨随 隱隐 雜杂 離离 雞鸡 難难 雲云 靜静 韓韩 頁页 項项 順顺 預预 頭头 額额
顏颜 願愿 類类 顧顾 風风 飛飞 飯饭 飲饮 養养 館馆 騙骗 驗验 髒脏 鬧闹 魚鱼 鳥鸟 鹽盐 麥麦 黃黄 齊齐 齒齿 龍龙
夠够 寵宠 將将 專专 尋寻 導导 屬属 嶺岭 幣币 幫帮 庫库 張张 彈弹 徵征 從从 復复 態态 憑凭 懷怀 戰战 擁拥 擋挡
據据 擠挤 擾扰 攤摊 敗败 數数 斷断 於于 舊旧 書书 曬晒 楊杨 榮荣 構构 樁桩 歡欢 決决 沖冲 況况 淨净 淺浅 減减
測测 準准 溝沟 滯滞 滿满 漲涨 潛潜 瀝沥 災灾 烏乌 爭争 爺爷 牽牵 獲获 畢毕 異异 癢痒 盜盗 眾众 衆众 睏困 磚砖
禍祸 稱称 穀谷 窩窝 竊窃 籃篮 糾纠 紀纪 納纳 純纯 紛纷 細细 終终 紹绍 絕绝 綁绑 綜综 緣缘 編编 緩缓 縮缩 績绩
繩绳 織织 繞绕 罷罢 義义 習习 聞闻 聖圣 腳脚 膚肤 興兴 舉举 莊庄 華华 萬万 蔣蒋 薦荐 藍蓝 蝦虾 術术 衝冲 製制
襪袜 觸触 詐诈 評评 詞词 誠诚 語语 誰谁 課课 諾诺 謊谎 譯译 議议 讀读 變变 豐丰 貧贫 貿贸 賀贺 賃赁 賊贼 賄贿
賭赌 贊赞 贏赢 跡迹 蹤踪 軌轨 輔辅 轄辖 辭辞 邊边 遞递 適适 遷迁 鄭郑 醜丑 釋释 銀银 銷销 鋪铺 錶表 鍵键 鏡镜
鑰钥 閃闪 閒闲 閑闲 閣阁 闊阔 陸陆 階阶 隻只 雙双 雖虽 靈灵 響响 頂顶 頓顿 領领 頻频 顆颗 顯显 飄飘 飽饱 餘余
駕驾 駛驶 驅驱 驚惊 髮发 鬥斗 鮮鲜 鴨鸭 麵面 黨党 齡龄 壽寿 夢梦 奪夺 婦妇 媽妈 嬰婴 孫孙 寧宁 實实 審审 寫写
寬宽 屍尸 崗岗 巖岩 師师 帳帐 帶带 幹干 廟庙 彎弯 後后 惡恶 愛爱 慣惯 慶庆 憂忧 應应 戲戏 搶抢 擔担 擇择 擊击
擴扩 攔拦 攜携 敵敌 暫暂 暢畅 棄弃 棟栋 樂乐 樹树 檔档 櫃柜 歐欧 毀毁 毆殴 涼凉 漁渔 潑泼 濃浓 濱滨 灑洒 爛烂
獄狱 畝亩 疊叠 瘋疯 癡痴 礙碍 積积 窯窑 簽签 籌筹 籠笼 糞粪 繼继 纜缆 聰聪 肅肃 脹胀 膠胶 臉脸 艦舰 蘋苹 蘭兰
蟻蚁 褲裤 覽览 訴诉 誌志 誘诱 謎谜 譽誉 趙赵 躍跃 軸轴 轟轰 迴回 遊游 釘钉 鈴铃 鉛铅 銅铜 鋁铝 錘锤 鏟铲 閥阀
陝陕 霧雾 頸颈 顛颠 颱台 颳刮 飢饥 餵喂 饅馒 駐驻 騎骑 驢驴 鬆松 鬍胡 鹼碱 麗丽 黴霉 擺摆 攏拢 樸朴 殼壳 滬沪
燦灿 營营 癮瘾 瞞瞒 礎础 窪洼 簾帘 紮扎 綫线 緝缉 臟脏 艷艳 蔔卜 虧亏 蠟蜡 襯衬 託托 訊讯 誇夸 諒谅 謠谣 謹谨
讚赞 豎竖 賺赚 輾辗 轎轿 邏逻 鄧邓 醬酱 釀酿 鉗钳 錦锦 鍛锻 鏽锈 闖闯 鞏巩 頌颂 顫颤 餅饼 餡馅 駁驳 驟骤 鬱郁
鷹鹰 鹵卤 壩坝 墳坟 墜坠 壇坛 嬸婶 寢寝 屜屉 嶼屿 廬庐 徹彻 懇恳 懶懒 戀恋 撐撑 撥拨 撫抚 擲掷 曉晓 槳桨 樞枢
檯台 櫻樱 欽钦 漬渍 澀涩 濾滤 灘滩 獅狮 瘡疮 盃杯 祿禄 穫获 竅窍 箏筝 粵粤 紋纹 絞绞 綢绸 縫缝 繪绘 罵骂 聳耸
膩腻 臥卧 蕭萧 薑姜 蘆芦 蝕蚀 螞蚂 蠅蝇 訟讼 詠咏 誼谊 諧谐 譴谴 豈岂 賜赐 賤贱 賦赋 賴赖 贈赠 蹺跷 軀躯 輻辐
釣钓 鈣钙 銜衔 鋒锋 錨锚 鍍镀 鑄铸 隕陨 韻韵 頹颓 餓饿 饞馋 駝驼 騰腾 驕骄 鯉鲤 鴿鸽 鶴鹤 衛卫 廈厦 傢家 儀仪
優优 億亿 傷伤 僅仅 價价 僱雇 儲储 兒儿 內内 兩两 凍冻 劃划 劑剂 勞劳 勢势 勵励 區区 協协 卻却 廳厅 吳吴 員员
嗎吗 噸吨 嚴严 囑嘱 團团 堅坚 執执 報报 場场 塊块 塗涂 墊垫 壘垒 壓压 奧奥 孃娘 學学 寶宝 屆届 岡冈 島岛 峰峰
帥帅 廂厢 彙汇 恆恒 惱恼 愷恺 慮虑 懸悬 揚扬 換换 揮挥 損损 搖摇 搗捣 摟搂 摺折 撈捞 撿捡 擬拟 攝摄 斕斓 斷断
晉晋 暈晕 曆历 朧胧 桿杆 棧栈 楓枫 槍枪 歎叹 氫氢 汙污 決决 沒没 淪沦 渾浑 滲渗 滾滚 漏漏 潰溃 澇涝 灤滦 災灾
烴烃 煉炼 熗炝 燉炖 燭烛 爾尔 牘牍 犧牺 猶犹 獵猎 瑣琐 產产 畫画 痠酸 瘧疟 癱瘫 皺皱 盧卢 矚瞩 碩硕 禦御 禪禅
穌稣 窺窥 竄窜 筍笋 籤签 糰团 紐纽 絨绒 綱纲 網网 緒绪 緻致 縱纵 繃绷 繡绣 罈坛 羨羡 聯联 膽胆 艙舱 葦苇 蓋盖
蔥葱 薩萨 藉藉 蘊蕴 虛虚 蝨虱 蠶蚕 衚胡 補补 襲袭 觀观 訛讹 訣诀 詛诅 詭诡 誕诞 誦诵 諸诸 謀谋 謄誊 譏讥 豔艳
貞贞 貫贯 貶贬 賓宾 賞赏 賢贤 賦赋 贓赃 趨趋 踐践 踴踊 車车 軋轧 軒轩 輝辉 輩辈 轅辕 辮辫 逕径 遜逊 鄒邹 醞酝
釐厘 鈔钞 鈕钮 鉤钩 銳锐 鋸锯 錳锰 鍊炼 鍾钟 鎊镑 鏈链 鏢镖 鐮镰 閩闽 闈闱 闡阐 陘陉 陣阵 隸隶 雋隽 雛雏 霽霁
靂雳 靚靓 韋韦 韌韧 頒颁 頰颊 顎颚 颶飓 颺扬 飼饲 餐餐 饒饶 騷骚 骯肮 髏髅 鬢鬓 魯鲁 鰻鳗 鳳凤 鵝鹅 鵬鹏 麩麸
黿鼋 齋斋 藥药 蘿萝 虜虏 號号
"""


def _build_trad_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for pair in _TRAD_SIMP_PAIRS.split():
        trad, simp = pair[0], pair[1]
        if trad != simp:
            table[ord(trad)] = simp
    return table


_TRAD_TO_SIMP = MappingProxyType(_build_trad_table())

# Variation selectors, zero-width joiners and skin-tone modifiers ride along with emoji.
_EMOJI_EXTRA_RE = re.compile("[\ufe00-\ufe0f\u200b-\u200f\u2060\U0001f3fb-\U0001f3ff\U000e0000-\U000e007f]")
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk"})
_SPACE_RE = re.compile(r"\s+")


def to_simplified(text: str) -> str:
    """Map common traditional characters to simplified ones (暖氣 → 暖气); others pass through."""
    return text.translate(_TRAD_TO_SIMP)


def normalize_query(text: str) -> str:
    """Normalise what an operator typed before matching.

    Full-width → half-width (NFKC: ｎｑ → nq, ０ → 0, 　 → space), lower-case, traditional → simplified,
    control/format characters and emoji removed, whitespace collapsed. Never raises on str input.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _EMOJI_EXTRA_RE.sub("", text)
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROP_CATEGORIES:
            kept.append(ch)
    text = to_simplified("".join(kept)).lower()
    return _SPACE_RE.sub(" ", text).strip()


def has_cjk(text: str) -> bool:
    """True when ``text`` contains at least one CJK ideograph."""
    return bool(_CJK_RE.search(text))
