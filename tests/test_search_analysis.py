"""The shared Chinese analysis: normalisation, the dictionary, pinyin, sub-words, typos."""

from __future__ import annotations

from importlib import resources

import jieba
import pytest

from farmgate.demo.seed import TOWNSHIP, VILLAGES
from farmgate.search import analysis as an
from farmgate.search.backend import Highlighted


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＬＡＪＩＡＯ　５００ｇ", "lajiao 500g"),  # full-width letters, digits and space
        ("湘西臘肉 500克 真空裝", "湘西腊肉 500g 真空装"),
        ("譚家場乾辣椒", "谭家场干辣椒"),
        ("茶油 2.5升", "茶油 2.5l"),
        ("5公斤 1千克 250毫升", "5kg 1kg 250ml"),
        ("巧克力", "巧克力"),  # 克 folds only after a number
        ("記憶體", "记忆体"),  # script only, not Taiwanese vocabulary
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert an.normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("500g", "500g"),
        ("500克", "500g"),
        ("1斤", "500g"),
        ("2斤", "1000g"),
        ("1kg", "1000g"),
        ("1.5kg", "1500g"),
        ("2.5L", "2500ml"),
        ("500 ml", "500ml"),
        ("30 枚", "30枚"),
        ("4条", "4条"),
    ],
)
def test_quantities_fold_to_one_form(text: str, quantity: str) -> None:
    (token,) = an.tokens(an.normalize(text))
    assert (token.kind, token.text) == ("qty", quantity)


def test_tokens_split_scripts() -> None:
    kinds = [(t.kind, t.text) for t in an.tokens(an.normalize("腊肉500g tjc 鸡蛋 2024"))]
    assert kinds == [
        ("han", "腊肉"),
        ("qty", "500g"),
        ("latin", "tjc"),
        ("han", "鸡蛋"),
        ("num", "2024"),
    ]


def test_jieba_alone_splits_the_township_but_our_dictionary_keeps_it() -> None:
    plain = jieba.Tokenizer()
    assert plain.lcut("谭家场乡", HMM=False) != ["谭家场乡"]
    assert an.segment("谭家场乡") == ("谭家场乡",)
    for name in (*VILLAGES, TOWNSHIP["name"], TOWNSHIP["county"], "辰溪稻花鱼", "干红辣椒"):
        assert an.segment(an.normalize(name)) == (name,), name


def test_dictionary_is_one_plain_jieba_file_with_every_village() -> None:
    text = resources.files("farmgate.search").joinpath("dictionary.txt").read_text("utf-8")
    words = []
    for line in text.splitlines():
        parts = line.split(" ")
        assert 1 <= len(parts) <= 3, line
        assert parts[0] and not parts[0].startswith("#"), line
        if len(parts) > 1:
            assert parts[1].isdigit(), line
        words.append(parts[0])
    assert len(words) == len(set(words))
    assert set(VILLAGES) | {TOWNSHIP["name"]} <= set(words)
    # jieba itself can load the file as it is.
    tk = jieba.Tokenizer()
    tk.load_userdict(str(resources.files("farmgate.search").joinpath("dictionary.txt")))
    assert tk.lcut("谭家场乡王洋屯", HMM=False) == ["谭家场乡", "王洋屯"]


def test_field_terms_cover_sub_words_pinyin_and_initials() -> None:
    terms = an.field_terms(an.normalize("谭家场干红辣椒 500克"))
    assert {"谭家场", "干红辣椒"} <= terms.words
    assert {"辣椒", "红辣", "家场", "谭"} <= terms.subwords  # inside words, not only at the start
    assert {"lajiao", "tanjiachang", "ganhonglajiao"} <= terms.pinyin
    assert {"lj", "tjc", "ghlj"} <= terms.initials
    assert terms.latin == {"500g"}
    assert "辣椒" in terms.known
    assert "简单" in an.field_terms("安装简单").subwords


def test_pinyin() -> None:
    assert an.pinyin("绿茶") == "lvcha"
    assert an.initials("稻花鱼") == "dhy"
    assert an.pinyin("王洋屯") == "wangyangtun"


def test_split_word_relaxes_a_dictionary_word() -> None:
    assert an.split_word("干辣椒") == ["干", "辣椒"]
    assert an.split_word("谭家场鸡蛋") == ["谭家场", "鸡蛋"]


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("lajioa", "lajiao", True),  # adjacent letters swapped
        ("tanjaichang", "tanjiachang", True),
        ("tenjiachang", "tanjiachang", True),  # one letter wrong
        ("tanjiachng", "tanjiachang", True),  # one missing
        ("fengmii", "fengmi", True),  # one extra
        ("lajoia", "lajiao", False),
        ("larou", "lachang", False),
    ],
)
def test_within_one_edit(a: str, b: str, close: bool) -> None:
    assert an.within_one_edit(a, b) is close
    assert an.within_one_edit(b, a) is close


def test_typo_index() -> None:
    index = an.TypoIndex({"lajiao", "tanjiachang", "larou", "lachang"})
    assert index.lookup("lajioa") == ["lajiao"]
    assert index.lookup("tanjaichang") == ["tanjiachang"]
    assert index.lookup("lajiao") == []  # exact is not a typo
    assert index.lookup("laro") == []  # too short to correct


def test_match_spans_map_back_to_the_original_text() -> None:
    terms = an.HighlightTerms(han={"辣椒"}, latin={"500g"}, pinyin={"tjc"}, pinyin_prefix=set())
    text = "譚家場乾紅辣椒 ５００克"
    spans = an.match_spans(text, terms)
    assert [text[s:e] for s, e in spans] == ["譚家場", "辣椒", "５００克"]


def test_pinyin_prefix_marks_the_shortest_run() -> None:
    terms = an.HighlightTerms(set(), set(), set(), pinyin_prefix={"laji"})
    text = "剁辣椒酱"
    assert [text[s:e] for s, e in an.match_spans(text, terms)] == ["辣椒"]


def test_snippet_windows_the_first_match() -> None:
    text = "一" * 100 + "辣椒" + "二" * 100
    window, spans = an.snippet(text, [(100, 102)], width=40)
    assert window.startswith("…") and window.endswith("…")
    assert [window[s:e] for s, e in spans] == ["辣椒"]


def test_vocabulary_completes_chinese_pinyin_and_initials() -> None:
    vocab = an.Vocabulary({"辣椒": 30, "辣椒酱": 10, "腊肉": 20, "谭家场": 15, "鸡蛋": 12})
    assert vocab.complete("辣")[:2] == ["辣椒", "辣椒酱"]
    assert vocab.complete("laj")[:1] == ["辣椒"]
    assert vocab.complete("tjc") == ["谭家场"]
    assert vocab.complete("la")[:2] == ["辣椒", "腊肉"]  # heavier first
    assert vocab.nearest("tanjaichang") == ["谭家场"]
    assert "辣椒" in vocab.nearest("辣子")


def test_highlighted_renders_safely_in_jinja() -> None:
    from jinja2 import Environment

    env = Environment(autoescape=True)
    text = Highlighted("<b>辣椒</b>酱", ((3, 5),))
    html = env.from_string("{{ h }}").render(h=text)
    assert html == "&lt;b&gt;<mark>辣椒</mark>&lt;/b&gt;酱"
    assert str(text) == "<b>辣椒</b>酱"
    assert text.marked == ["辣椒"]


def test_jieba_reads_its_cache_in_one_piece_to_the_same_dictionary() -> None:
    import jieba

    from farmgate.search import analysis_segment

    ours, theirs = jieba.Tokenizer(), jieba.Tokenizer()
    analysis_segment._initialize(ours)
    theirs.initialize()
    assert ours.initialized and ours.total == theirs.total and ours.FREQ == theirs.FREQ
