"""Benchmark: privacy-preserving linkage of N × N keyed Bloom-filter encodings.

    .venv/bin/python -m bench.bench_integrate --members 100000
    .venv/bin/python -m bench.bench_integrate --all        # 100k and 1M, each in its own process

Names are made up from a character pool (surname + one or two characters); the
right side is the left side shuffled, with a homophone typo in 5% of the names
(same toneless pinyin, another character). Blocks are branches of about 30
members (the right side knows each record's branch, as a sign-in sheet does).
Prints one Markdown table row: encode time, match time, comparisons/s, peak RSS,
precision and recall against the known truth.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import subprocess
import sys
import time

import numpy as np
from pypinyin import Style, lazy_pinyin

from anonymize import clk_encode
from integrate import match_encodings_detailed

logger = logging.getLogger("bench.integrate")

KEY = b"bench-linkage-key-not-a-secret"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌辉波宁鹏飞俊峰海燕雪梅琳"
    "晨旭东亮春晓慧佳欣怡婷宇浩然子轩博雅思嘉为位威微维卫未味玮炜纬方放防房仿那纳民名鸣铭晶京"
    "经精景井力立利理礼墙蔷雷类垒君均钧峻阳扬央永涌咏琪琦祺奇淇凯锴楷恺振震镇珍贞晴庆清青"
)
HEADER = (
    "| members | encode s | match s | comparisons | comparisons/s | candidates | peak RSS MiB "
    "| precision | recall |\n|---|---|---|---|---|---|---|---|---|"
)


def _homophones() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for c in set(_GIVEN):
        groups.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    return {c: sorted(o for o in g if o != c) for g in groups.values() for c in g}


def measure(members: int, seed: int = 3, typo_rate: float = 0.05) -> dict[str, object]:
    """Encode ``members`` names twice (5% homophone typos on the right) and match them."""
    rng = random.Random(seed)
    homophones = _homophones()
    names = [
        rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
        for _ in range(members)
    ]
    branch = np.arange(members) // 30
    perm = np.random.default_rng(seed).permutation(members)  # right row r is left row perm[r]
    right_names = []
    for r in range(members):
        name = names[perm[r]]
        if rng.random() < typo_rate:
            chars = list(name)
            options = [p for p, c in enumerate(chars) if homophones.get(c)]
            if options:
                pos = rng.choice(options)
                chars[pos] = rng.choice(homophones[chars[pos]])
            name = "".join(chars)
        right_names.append(name)

    t0 = time.perf_counter()
    encodings = clk_encode(names + right_names, KEY)
    encode_s = time.perf_counter() - t0
    left, right = encodings[:members], encodings[members:]

    t1 = time.perf_counter()
    result = match_encodings_detailed(
        left,
        right,
        threshold=0.75,
        block_left=branch,
        block_right=branch[perm],
        ambiguity_margin=0.0,
    )
    match_s = time.perf_counter() - t1
    pairs = result.pairs
    correct = int((perm[pairs["j"].to_numpy()] == pairs["i"].to_numpy()).sum())
    precision = correct / max(1, len(pairs))
    recall = correct / members
    return {
        "encode_s": round(encode_s, 1),
        "match_s": round(match_s, 1),
        "comparisons": result.comparisons,
        "comparisons_per_s": round(result.comparisons / match_s),
        "candidates": result.candidates,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
    }


def run(members: int, seed: int = 3, typo_rate: float = 0.05) -> str:
    m = measure(members, seed, typo_rate)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"| {members:,} | {m['encode_s']} | {m['match_s']} | {m['comparisons']:,} | "
        f"{m['comparisons_per_s']:,} | {m['candidates']:,} | {peak:,.0f} | "
        f"{m['precision']:.4f} | {m['recall']:.4f} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--all", action="store_true", help="100k and 1M, each in a subprocess")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    print(HEADER)
    if args.all:
        for n in (100_000, 1_000_000):
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_integrate", "--members", str(n)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            print(out.strip().splitlines()[-1], flush=True)
    else:
        print(run(args.members), flush=True)


if __name__ == "__main__":
    main()
