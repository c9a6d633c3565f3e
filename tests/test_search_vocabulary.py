"""The trade's vocabulary: the shipped file, the admin's overrides (on SQLite and PostgreSQL),
the console page that edits them, the Meilisearch settings they become, and no "did you mean"
when the query already matched well."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.errors import ValidationFailed
from farmgate.models import Role, SearchSynonym
from farmgate.search import meili, vocabulary, vocabulary_store
from farmgate.search import service as search
from farmgate.search.backend import SearchBackend, SearchQuery
from farmgate.search.embedded import EmbeddedIndex
from farmgate.search.vocabulary import Synonyms, VocabularyError
from tests.support import factories as f
from tests.support.search_catalogue import catalogue
from tests.support.web import csrf_token

PAGE = "/township/search-words"

# --- the file ---------------------------------------------------------------------------------


def test_the_shipped_vocabulary_has_the_trades_words() -> None:
    words = vocabulary.from_file()
    assert "香米" in words.expand("稻米")
    assert "稻花鱼" in words.expand("鲜鱼")
    assert {"腊肉", "香肠"} <= set(words.expand("腊味"))
    assert "茶油" in words.expand("茶籽油")
    assert words.expand("剁椒") == ("剁辣椒",)
    for occasion in ("年货", "送礼", "土特产"):
        assert words.expand(occasion), occasion
    assert words.expand("香米") == ()  # one-way: the specific word does not widen


def test_parse_normalises_and_refuses_what_it_cannot_use() -> None:
    entries = vocabulary.parse("# a comment\n\n臘味: 臘肉 香腸，腊肉 臘味\nＡＢ: ab cd\n")
    assert entries == {"腊味": ("腊肉", "香肠"), "ab": ("cd",)}  # itself and repeats dropped
    with pytest.raises(VocabularyError):
        vocabulary.parse("稻米 香米")  # no colon
    with pytest.raises(VocabularyError):
        vocabulary.parse("稻<米: 香米")
    with pytest.raises(VocabularyError):
        vocabulary.parse("稻米: " + " ".join(f"米{i}" for i in range(40)))


def test_overrides_replace_add_and_switch_off() -> None:
    base = Synonyms({"稻米": ("香米",), "鲜鱼": ("稻花鱼",)})
    result = vocabulary.merged(base, [("稻米", ["糯米"]), ("鲜鱼", []), ("山货", ["香菇"])])
    assert result.entries == {"稻米": ("糯米",), "山货": ("香菇",)}
    assert base.entries == {"稻米": ("香米",), "鲜鱼": ("稻花鱼",)}  # the base is untouched


# --- the embedded engine ------------------------------------------------------------------


def test_a_word_found_in_the_name_ranks_above_its_expansions() -> None:
    index = EmbeddedIndex(catalogue())
    hits = index.search(SearchQuery(q="剁椒", page_size=10))
    assert hits.ids[0] == 120  # 剁椒鱼头调料 has the word itself
    assert {106, 107, 125} <= set(hits.ids[1:4])
    marked = {m for h in hits.hits for m in h.name.marked}
    assert "剁辣椒" in marked  # what the expansion matched is highlighted
    index.set_synonyms(Synonyms())
    plain = index.search(SearchQuery(q="剁椒")).ids  # without it: the word as typed only
    assert plain[0] == 120 and not {106, 107, 125} & set(plain)


def test_no_did_you_mean_when_the_query_matched_well(search_backend: SearchBackend) -> None:
    one = search_backend.search(SearchQuery(q="手工布鞋"))
    assert one.ids == [839] and one.suggestions == []
    exact = search_backend.search(SearchQuery(q="辰溪稻花鱼"))
    assert exact.ids[0] == 501 and exact.suggestions == []
    pinyin = search_backend.search(SearchQuery(q="shitoupo"))
    assert pinyin.ids and pinyin.suggestions == []
    # Still offered when nothing or only part of the query matched.
    partial = search_backend.search(SearchQuery(q="谭家场 榴莲"))
    assert partial.relaxed and "谭家场" in partial.suggestions
    near = search_backend.search(SearchQuery(q="稻花鲤鱼"))
    assert near.suggestions


def test_meili_matched_well_reads_the_hits_names() -> None:
    assert meili.matched_well("手工布鞋", [{"name": "手工布鞋"}])
    assert meili.matched_well("shoug buxie", []) is False
    assert meili.matched_well("tjc 土鸡蛋", [{"name": "谭家场土鸡蛋"}])
    assert not meili.matched_well("稻花鲤鱼", [{"name": "稻花鱼"}])
    assert not meili.matched_well("", [{"name": "稻花鱼"}])


# --- Meilisearch's settings (no server needed) --------------------------------------------


class _Index:
    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls

    def update_settings(self, body: dict[str, Any]) -> Any:
        self.calls.append(body)
        return SimpleNamespace(task_uid=len(self.calls))


class _Client:
    """Records the settings sent; every task succeeds at once."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def index(self, uid: str) -> _Index:
        return _Index(self.calls)

    def create_index(self, uid: str, options: dict[str, Any]) -> Any:
        return SimpleNamespace(task_uid=0)

    def wait_for_task(self, uid: int, **kwargs: Any) -> Any:
        return SimpleNamespace(status="succeeded", error=None)


def test_meili_settings_carry_the_vocabulary_as_one_way_synonyms() -> None:
    body = meili.settings()
    assert "香米" in body["synonyms"]["稻米"]
    assert {"腊肉", "香肠"} <= set(body["synonyms"]["腊味"])
    assert "香米" not in body["synonyms"]  # one-way
    assert {"年货", "土特产", "稻米"} <= set(body["dictionary"])  # segmented as whole words
    custom = meili.settings(Synonyms({"山珍": ("香菇", "木耳")}))
    assert custom["synonyms"] == {"山珍": ["香菇", "木耳"]}
    assert "山珍" in custom["dictionary"]


def test_meili_backend_sends_a_changed_vocabulary_once() -> None:
    client = _Client()
    backend = meili.MeiliBackend("http://127.0.0.1:1", client=client)  # type: ignore[arg-type]
    backend.configure()
    assert client.calls[-1]["synonyms"] == vocabulary.from_file().meili()
    sent = len(client.calls)
    backend.set_synonyms(vocabulary.from_file())  # unchanged: nothing sent
    assert len(client.calls) == sent
    backend.set_synonyms(Synonyms({"鲜鱼": ("泥鳅",)}))
    assert client.calls[-1]["synonyms"] == {"鲜鱼": ["泥鳅"]}
    assert "泥鳅" in client.calls[-1]["dictionary"]
    assert backend.synonyms.expand("鲜鱼") == ("泥鳅",)


# --- the admin's overrides, in the database -----------------------------------------------


def test_overrides_are_stored_audited_and_reset(session: Session) -> None:
    admin = f.create_account(session, role=Role.ADMIN)
    vocabulary_store.save(session, admin, " 鮮魚 ", "泥鳅、草鱼 泥鳅")
    vocabulary_store.save(session, admin, "年货", "")
    vocabulary_store.save(session, admin, "山珍", "香菇 木耳")
    now = vocabulary_store.current(session)
    assert now.expand("鲜鱼") == ("泥鳅", "草鱼")
    assert now.expand("年货") == ()  # switched off
    assert now.expand("山珍") == ("香菇", "木耳")
    assert now.expand("稻米") == vocabulary.from_file().expand("稻米")
    listed = {e.word: e for e in vocabulary_store.entries(session)}
    assert listed["鲜鱼"].overridden and listed["鲜鱼"].shipped
    assert listed["山珍"].overridden and not listed["山珍"].shipped
    assert not listed["稻米"].overridden
    assert len(audit.entries(session, action="search.vocabulary")) == 3

    assert vocabulary_store.reset(session, admin, "鲜鱼")
    assert not vocabulary_store.reset(session, admin, "鲜鱼")
    assert vocabulary_store.current(session).expand("鲜鱼") == vocabulary.from_file().expand("鲜鱼")
    with pytest.raises(ValidationFailed) as bad:
        vocabulary_store.save(session, admin, "稻米", "香米 <b>")
    assert "expansions" in bad.value.fields
    assert session.get(SearchSynonym, "稻米") is None


def test_search_uses_the_overrides_in_every_process(session: Session) -> None:
    township = f.create_township(session)
    village = f.first_village(session, township)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    admin = f.create_account(session, role=Role.ADMIN)
    eggs = f.create_product(session, staff, village, name="高坪麻鸭蛋", category="meat_eggs")
    fish = f.create_product(session, staff, village, name="辰溪稻花鱼", category="aquatic")
    search.reindex(session)
    assert search.search(session, SearchQuery(q="鲜鱼")).ids == [fish.id]
    vocabulary_store.save(session, admin, "鲜鱼", "鸭蛋")  # an odd choice, but the admin's
    assert search.search(session, SearchQuery(q="鲜鱼")).ids == [eggs.id]
    search.reset_for_tests()  # another process: reads the same overrides
    search.reindex(session)
    assert search.search(session, SearchQuery(q="鲜鱼")).ids == [eggs.id]


# --- the console page ---------------------------------------------------------------------


def _admin(client, session: Session):  # type: ignore[no-untyped-def]
    f.create_township(session)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    return admin


@pytest.mark.parametrize("role", [Role.CONSUMER, Role.COURIER, None])
def test_the_page_refuses_anyone_but_the_admin(client, session: Session, role) -> None:  # type: ignore[no-untyped-def]
    f.create_township(session)
    if role is not None:
        f.login_browser(client, session, f.create_account(session, role=role))
    session.commit()
    token = csrf_token(client.get("/login").text)
    page = client.get(PAGE)
    assert (page.url.path == "/login") if role is None else page.status_code == 403
    for url in (PAGE, PAGE + "/reset"):
        sent = client.post(url, data={"csrf_token": token, "word": "稻米", "expansions": "糯米"})
        assert sent.status_code in (401, 403) or sent.url.path == "/login", url
    session.expire_all()
    assert session.query(SearchSynonym).count() == 0


def test_bad_input_is_shown_beside_the_field_and_kept(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _admin(client, session)
    token = csrf_token(client.get(PAGE).text)
    for data, field, message in (
        ({"word": "", "expansions": "香米"}, "word", "请填写词语"),
        ({"word": "稻米", "expansions": "香米 <x>"}, "expansions", "不是一个词"),
        ({"word": "这是一个非常非常长的搜索词语啊", "expansions": "香米"}, "word", "不是一个词"),
    ):
        sent = client.post(PAGE, data={**data, "csrf_token": token})
        assert sent.status_code == 422, data
        assert re.search(rf'id="{field}-error">[^<]*{message}', sent.text), data
        assert data["word"] in sent.text  # what was typed is kept
    reset = client.post(PAGE + "/reset", data={"word": "稻米", "csrf_token": token})
    assert reset.status_code == 422 and "没有改动过" in reset.text
    session.expire_all()
    assert session.query(SearchSynonym).count() == 0


def test_the_admin_edits_a_word_and_search_follows(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _admin(client, session)
    page = client.get(PAGE)
    assert page.status_code == 200 and "稻米" in page.text and "搜索词" in page.text
    token = csrf_token(page.text)
    filled = client.get(PAGE, params={"word": "剁椒"})
    assert 'value="剁椒"' in filled.text and "剁辣椒</textarea>" in filled.text
    saved = client.post(
        PAGE, data={"word": "剁椒", "expansions": "剁辣椒 辣椒酱", "csrf_token": token}
    )
    assert saved.status_code == 200 and "已保存：剁椒" in saved.text
    assert "乡镇自己改过" in saved.text and "恢复默认" in saved.text
    session.expire_all()
    assert vocabulary_store.current(session).expand("剁椒") == ("剁辣椒", "辣椒酱")
    back = client.post(PAGE + "/reset", data={"word": "剁椒", "csrf_token": token})
    assert back.status_code == 200 and "已恢复默认：剁椒" in back.text
    session.expire_all()
    assert session.query(SearchSynonym).count() == 0
    assert len(audit.entries(session, action="search.vocabulary")) == 2
