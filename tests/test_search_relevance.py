"""One relevance suite for every search backend: labelled queries over the test catalogue.

Each case names the product ids that must all be in the first ``k`` results (``k`` defaults
to their number, so they must come first) and, optionally, ids that must not be there.
The Meilisearch run needs a server: set FARMGATE_MEILI_URL (and FARMGATE_MEILI_KEY).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from farmgate.search.backend import SearchBackend, SearchQuery

CHILLI_NAMES = {
    101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 117, 118, 121,
    122, 123, 125, 126, 836, 902, 904,
}  # fmt: skip
TANJIACHANG_NAMES = {101, 121, 215, 409, 602, 610, 903}
LAROU_NAMES = {301, 302, 303, 304, 305, 314, 316, 318, 319}
CHICKEN_EGGS = {601, 602, 603, 609, 610, 611, 613, 615, 903}
DUCK_EGGS = {604, 605, 614}
CAMELLIA_OIL_NAMES = {401, 402, 404, 405, 407, 409}
FISH_NAMES = {501, 502, 503, 508}
DRIED_CHILLI = {102, 103, 104, 121, 122, 902}
CHILLED = {114, 115, 208, 315, 501, 502, 505, 506, 824, 830, 833, 836}
GREEN_FOOD = {117, 201, 202, 214, 305, 401, 404, 410, 610, 709}


@dataclass(frozen=True)
class Case:
    q: str
    expected: set[int]
    k: int = 0
    forbidden: frozenset[int] = frozenset()

    @property
    def top(self) -> int:
        return self.k or len(self.expected)


def case(q: str, expected: set[int], k: int = 0, forbidden: set[int] | None = None) -> Case:
    return Case(q, expected, k, frozenset(forbidden or ()))


CASES = [
    # Chinese words, and decoys that share characters
    case("辣椒", CHILLI_NAMES),
    case("干辣椒", DRIED_CHILLI, forbidden={110, 111, 106, 108}),
    case("干辣椒", DRIED_CHILLI | {101, 105, 117}, forbidden={110, 111, 106, 108}),
    case("辣椒酱", {110, 111, 126}, forbidden={102, 106}),
    case("剁辣椒", {106, 107, 125}, forbidden={110}),
    case("朝天椒", {102, 116}),
    case("朝天椒", {102, 116, 101}),
    case("辣椒油", {118}),
    case("腊肉", LAROU_NAMES, forbidden={306, 307, 317, 315}),
    case("腊肠", {306, 307, 317, 318}, forbidden={301, 302, 303}),
    case("鸡蛋", CHICKEN_EGGS, forbidden=DUCK_EGGS | {606, 607, 612}),
    case("鸭蛋", DUCK_EGGS, forbidden={601, 602, 603}),
    case("茶油", CAMELLIA_OIL_NAMES, forbidden={706, 707, 704}),
    case("茶叶", {706, 905}, forbidden={401, 402, 405, 707}),
    case("山茶油", {401, 402, 404, 409}, forbidden={405, 407}),
    case("茶籽油", {403, 410}),
    case("稻花鱼", FISH_NAMES),
    case("辰溪稻花鱼", {501}),
    case("土蜂蜜", {801, 829}, forbidden={802, 803}),
    case("蜂蜜", {801, 802, 803, 829}),
    case("糯米", {205, 216}),
    case("米粉", {207}),
    case("绿茶", {701, 709, 710}),
    case("黑茶", {702, 711}),
    case("土鸡", {601, 602, 608, 610, 613, 903}),
    case("鱼干", {503, 509}),
    case("香菇", {807, 830, 825, 126}),
    case("木耳", {808, 831}),
    case("竹编", {813, 814, 837}),
    case("礼盒", {117, 305, 404, 508, 614, 709, 901}),
    case("冷冻", {504, 507}),
    case("手工布鞋", {839}),
    # Inside words (not only at their start)
    case("简单", {813}),
    case("花香米", {201, 202, 214}),
    case("香米", {201, 202, 214}),
    case("五花", {302, 304, 316}),
    # Place names
    case("谭家场", TANJIACHANG_NAMES),
    case("高坪", {201, 214}),
    case("狮头坡", {319}),
    case("辰溪", {501}),
    case("湘西", {301, 208}),
    case("上荆竹溪", {203, 213, 504, 601, 814, 833, 837}, forbidden={204, 315, 505, 806}),
    case("谭家场 鸡蛋", {602, 603, 610, 903}, forbidden=DUCK_EGGS),
    case("谭家场鸡蛋", {602, 603, 610, 903}, forbidden=DUCK_EGGS),
    case("辣椒 谭家场", {101, 121}),
    case("狮头坡 茶油", {401, 402, 404, 407}, forbidden={405, 409}),
    case("高坪 稻花鱼", FISH_NAMES),
    case("草子坳 土鸡蛋", {613}),
    # Facet values typed as words
    case("冷藏", CHILLED),
    case("绿色食品", GREEN_FOOD),
    case("地理标志", {101, 117, 121, 501, 502, 508}),
    case("水产", {310, 501, 502, 503, 504, 505, 506, 507, 508, 509}),
    case("有机 大米", {203}),
    case("有机", {203, 213}),
    # Full pinyin, spaced or not, any case or width
    case("lajiao", CHILLI_NAMES),
    case("la jiao", CHILLI_NAMES),
    case("LaJiao", CHILLI_NAMES),
    case("ｌａｊｉａｏ", CHILLI_NAMES),
    case("tanjiachang", TANJIACHANG_NAMES),
    case("larou", LAROU_NAMES),
    case("la rou", LAROU_NAMES),
    case("jidan", CHICKEN_EGGS, forbidden=DUCK_EGGS),
    case("yadan", DUCK_EGGS),
    case("chayou", CAMELLIA_OIL_NAMES, forbidden={706, 905}),
    case("chaye", {706, 905}),
    case("daohuayu", FISH_NAMES),
    case("fengmi", {801, 802, 803, 829}),
    case("gaoping", {201, 214}),
    case("shitoupo", {319}),
    case("caoziao", {613, 829}),
    case("lajiaojiang", {110, 111, 126}),
    case("duolajiao", {106, 107, 125}),
    case("xianggu", {807, 830, 825, 126}),
    case("lvcha", {701, 709, 710}),
    case("penggan", {804}),
    case("tjc jidan", {602, 603, 610, 903}),
    # Initials
    case("lj", CHILLI_NAMES, k=len(CHILLI_NAMES) + 1),  # 腊鸡 spells lj too
    case("tjc", TANJIACHANG_NAMES),
    case("lr", LAROU_NAMES),
    case("dhy", FISH_NAMES),
    case("dlj", {106, 107, 125}),
    case("tjc 鸡蛋", {602, 603, 610, 903}),
    case("wyt 椪柑", {804}),
    # A typo in pinyin (or a character that sounds the same)
    case("lajioa", CHILLI_NAMES),
    case("tanjaichang", TANJIACHANG_NAMES),
    case("tanjiachagn", TANJIACHANG_NAMES),
    case("tenjiachang", TANJIACHANG_NAMES),
    case("fengmii", {801, 802, 803, 829}),
    case("daohuyau", FISH_NAMES),
    case("谭家厂", TANJIACHANG_NAMES),
    # Chinese with units and specs
    case("腊肉 500g", {301, 302, 303, 314, 319}, forbidden={306, 307, 317}),
    case("腊肉 500克", {301, 302, 303, 314, 319}, forbidden={306, 307, 317}),
    case("腊肉 1斤", {301, 302, 303, 314, 319}, forbidden={306, 307, 317}),
    case("腊肉500g", {301, 302, 303, 314, 319}, forbidden={306, 307, 317}),
    case("土鸡蛋 30枚", {601, 613, 903}),
    case("鸡蛋 30枚", {601, 603, 609, 613, 615, 903}),
    case("茶油 2.5L", {401, 405}),
    case("茶油 2.5升", {401, 405}),
    case("干辣椒 500g", {102, 103, 121, 902}),
    case("干辣椒 1kg", {101}),
    case("大米 5kg", {203, 215}),
    case("10斤 大米", {203, 215}),
    case("鸡蛋 谭家场 30枚", {603, 903}),
    # Traditional characters (either side)
    case("臘肉", LAROU_NAMES),
    case("臘腸", {306, 307, 317, 318}),
    case("乾辣椒", DRIED_CHILLI),
    case("雞蛋", CHICKEN_EGGS),
    case("茶葉", {706, 905}),
    case("稻花魚", FISH_NAMES),
    case("譚家場", TANJIACHANG_NAMES),
    case("臘味", {901}),
    case("臘肉 500克", {301, 302, 303, 314, 319}),
    # The trade's words (farmgate/search/vocabulary.txt): a generic word finds the specific
    # products, after any product whose name has the word itself
    case("稻米", {201, 202, 214}, k=12, forbidden={503, 502}),
    case("鲜鱼", FISH_NAMES - {503}, k=8, forbidden={310, 509}),
    case("腊味", {901}),
    case("腊味", {901} | LAROU_NAMES | {306, 307, 317}, k=24, forbidden={315, 809}),
    case("香肠", {306, 307, 317, 318}, forbidden={301, 302, 303}),
    case("茶籽油", {403, 410}),
    case("茶籽油", {403, 410} | CAMELLIA_OIL_NAMES, k=8, forbidden={706, 707, 408}),
    case("剁椒", {120}),
    case("剁椒", {120, 106, 107, 125}, forbidden={110, 105}),
    case("辣酱", {110, 111, 126}, k=6, forbidden={102, 108}),
    case("山货", {807, 808, 809, 810, 826, 827}, k=12),
    # Occasion words find what sells for them
    case("年货", {301, 305, 306, 508, 404, 709}, k=40, forbidden={116, 506, 507}),
    case("送礼", {117, 305, 404, 508, 614, 709}, k=8, forbidden={101, 301}),
    case("土特产", {301, 401, 501, 102, 601, 801}, k=40, forbidden={116, 507}),
    case("送礼 茶油", {404}, forbidden={405, 407}),
    case("年货 腊肉", {305}, k=3, forbidden={306, 809}),
]


def test_the_suite_is_big_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.q for c in CASES}) >= 60


@pytest.mark.parametrize("labelled", CASES, ids=[f"{i:03d}-{c.q}" for i, c in enumerate(CASES)])
def test_relevance(search_backend: SearchBackend, labelled: Case) -> None:
    result = search_backend.search(SearchQuery(q=labelled.q, page_size=max(labelled.top, 10)))
    top = result.ids[: labelled.top]
    missing = labelled.expected - set(top)
    intruders = labelled.forbidden & set(top)
    assert not missing and not intruders, (
        f"{labelled.q!r}: missing {sorted(missing)}, unwanted {sorted(intruders)}; "
        f"top {labelled.top}: {[(h.id, h.name.text) for h in result.hits[: labelled.top]]}"
    )
