"""Fixed vocabularies of the synthetic university: units, regions, courses, name pools.

Everything here is either a constant or built once from a seeded Faker ``zh_CN``
instance, so the pools are deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker

__all__ = [
    "ACADEMIC_COLLEGES",
    "ADMIN_UNIT",
    "ATTENDANCE",
    "COURSES",
    "ETHNICITIES",
    "HOMOPHONES",
    "MEETING_TYPES",
    "MOBILE_PREFIXES",
    "REGION_CODES",
    "RETIREE_UNIT",
    "STATUS_ZH",
    "TRADITIONAL",
    "VOLUNTEER_ACTIVITIES",
    "College",
    "NamePools",
    "build_name_pools",
]


@dataclass(frozen=True, slots=True)
class College:
    code: str
    name: str
    abbr: str  # class-name prefix, e.g. 计科2201


ACADEMIC_COLLEGES: tuple[College, ...] = (
    College("01", "马克思主义学院", "马院"),
    College("02", "计算机学院", "计科"),
    College("03", "数学与统计学院", "数学"),
    College("04", "物理与电子工程学院", "物电"),
    College("05", "化学化工学院", "化学"),
    College("06", "生命科学学院", "生科"),
    College("07", "文学院", "中文"),
    College("08", "历史文化学院", "历史"),
    College("09", "外国语学院", "外语"),
    College("10", "经济学院", "经济"),
    College("11", "管理学院", "管理"),
    College("12", "法学院", "法学"),
    College("13", "教育学院", "教育"),
    College("14", "新闻与传播学院", "新传"),
    College("15", "机械工程学院", "机械"),
    College("16", "土木工程学院", "土木"),
    College("17", "材料科学与工程学院", "材料"),
    College("18", "环境科学与工程学院", "环境"),
    College("19", "医学院", "临床"),
    College("20", "艺术学院", "艺术"),
)
#: Administrative staff (机关) and retirees have their own party committees.
ADMIN_UNIT = College("31", "机关党委", "机关")
RETIREE_UNIT = College("32", "离退休工作处", "离退")

#: Real GB/T 2260 county/district codes across provinces.
REGION_CODES: tuple[str, ...] = (
    "110101", "110105", "110108", "120101", "120104", "130102", "130602", "140105",
    "150102", "210102", "210202", "220102", "230103", "310104", "310110", "310115",
    "320102", "320106", "320508", "330106", "330108", "330203", "340104", "350102",
    "350203", "360102", "370102", "370202", "410105", "420106", "420111", "430104",
    "440106", "440304", "450103", "460106", "500103", "510107", "510108", "520102",
    "530102", "610113", "620102", "630104", "640104", "650102",
)  # fmt: skip

MOBILE_PREFIXES: tuple[int, ...] = (
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155,
    156, 157, 158, 159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184,
    185, 186, 187, 188, 189, 191, 198, 199,
)  # fmt: skip

ETHNICITIES: tuple[tuple[str, float], ...] = (
    ("汉族", 0.91), ("壮族", 0.013), ("回族", 0.012), ("满族", 0.011), ("维吾尔族", 0.008),
    ("苗族", 0.008), ("彝族", 0.007), ("土家族", 0.007), ("藏族", 0.005), ("蒙古族", 0.005),
    ("侗族", 0.004),
)  # fmt: skip

#: Ladder statuses in order, as the org department writes them.
STATUS_ZH: tuple[str, ...] = ("入党申请人", "入党积极分子", "发展对象", "预备党员", "正式党员")

MEETING_TYPES: tuple[str, ...] = ("支部党员大会", "支部委员会", "党小组会", "党课", "主题党日")
ATTENDANCE: tuple[str, ...] = ("出席", "缺席", "请假")

VOLUNTEER_ACTIVITIES: tuple[str, ...] = (
    "社区敬老志愿服务", "校园迎新志愿服务", "图书馆整理志愿服务", "无偿献血宣传",
    "城市马拉松赛会服务", "乡村支教", "垃圾分类宣传", "关爱留守儿童", "文明交通劝导",
    "博物馆讲解志愿服务", "科普进社区", "校园义诊", "防汛抗灾志愿服务", "考试考务志愿服务",
    "红色教育基地讲解", "环保净滩行动",
)  # fmt: skip

COURSES: tuple[tuple[str, str], ...] = (
    ("C001", "习近平新时代中国特色社会主义思想概论"),
    ("C002", "中国共产党章程学习"),
    ("C003", "党史学习教育专题"),
    ("C004", "党的二十大报告精读"),
    ("C005", "中国共产党纪律处分条例解读"),
    ("C006", "中国共产党廉洁自律准则"),
    ("C007", "新中国史"),
    ("C008", "改革开放史"),
    ("C009", "社会主义发展史"),
    ("C010", "马克思主义基本原理"),
    ("C011", "发展党员工作细则解读"),
    ("C012", "党支部工作条例学习"),
    ("C013", "红色家书诵读"),
    ("C014", "网络安全与保密教育"),
    ("C015", "榜样的力量：优秀共产党员事迹"),
    ("C016", "入党积极分子培训课程"),
)

#: Given-name and surname characters with a common homophone (for ``name_typo``).
HOMOPHONES: dict[str, str] = dict(
    zip(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建文辉力林俊宇浩鹏婷欣佳晨颖"
        "梅慧志金斌飞峰宁凯倩思波成龙云玲凤鑫丹萍燕亮坤海雪琴兵晶博毅帅东健旭君",
        "玮方纳民净莉蔷垒君阳永燕洁鹃滔铭潮绣侠萍钢贵莹化钰岚宏健雯晖立琳骏雨昊朋亭鑫嘉辰莹"
        "玫惠智锦彬菲锋凝楷茜斯博诚隆芸铃峰欣单平艳靓昆亥薛芹冰精搏屹率冬建旭均",
        strict=True,
    )
)
HOMOPHONES["旭"] = "煦"

#: Simplified → traditional variants that GBK can encode (for ``near_duplicate``).
TRADITIONAL: dict[str, str] = dict(
    zip(
        "陈刘张黄杨赵吴郑孙马许冯韩邓罗谢叶苏卢钟汤陆贾萧顾龙乔伟华丽军红兰凤东国荣辉鹏杰涛艳义宁强进剑锋飞云静燕玲娇闵",
        "陳劉張黃楊趙吳鄭孫馬許馮韓鄧羅謝葉蘇盧鍾湯陸賈蕭顧龍喬偉華麗軍紅蘭鳳東國榮輝鵬傑濤艷義寧強進劍鋒飛雲靜燕玲嬌閔",
        strict=True,
    )
)
TRADITIONAL = {k: v for k, v in TRADITIONAL.items() if k != v}


def _gbk_ok(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class NamePools:
    """Frequency-weighted pools (repeated entries carry the weight)."""

    surnames: np.ndarray
    male_chars: np.ndarray
    female_chars: np.ndarray


def build_name_pools(seed: int, draws: int = 6000) -> NamePools:
    """Sample surname and given-name-character pools once from a seeded Faker ``zh_CN``."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    surnames = [fake.last_name() for _ in range(draws)]
    male = [c for _ in range(draws // 2) for c in fake.first_name_male()]
    female = [c for _ in range(draws // 2) for c in fake.first_name_female()]
    pools = [np.array([s for s in pool if _gbk_ok(s)]) for pool in (surnames, male, female)]
    return NamePools(*pools)
