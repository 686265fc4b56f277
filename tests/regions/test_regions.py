"""The administrative division list: lookups on known codes, and the read API."""

from __future__ import annotations

import csv

import pytest

from indicator_service.regions import names
from tests.helpers import ApiClient, assert_problem


def test_the_list_has_every_province_and_known_prefectures_and_counties() -> None:
    provinces = names.search(level="province")
    assert len(provinces) == 31  # the statistical list: 31 province-level units
    zhejiang, hangzhou, xihu = names.get("330000"), names.get("330100"), names.get("330106")
    assert zhejiang is not None
    assert hangzhou is not None
    assert xihu is not None
    assert zhejiang.name_zh == "浙江省"
    assert hangzhou.name_zh == "杭州市"
    assert xihu.name_zh == "西湖区"
    assert xihu.parent == "330100"
    assert names.get("999999") is None
    # every parent exists, and every code's level is what its digits say
    with names.DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    codes = {r["code"] for r in rows}
    assert len(codes) == len(rows) == 3349
    assert all(r["parent"] in codes for r in rows if r["parent"])
    assert {names.level_of(r["code"]) for r in rows} == set(names.LEVELS)


@pytest.mark.parametrize(
    ("code", "zh", "en"),
    [
        ("000000", "全国", "National"),
        ("330000", "浙江省", "Zhejiang"),
        ("330100", "浙江省杭州市", "杭州市, Zhejiang"),
        ("330106", "浙江省杭州市西湖区", "西湖区, 杭州市, Zhejiang"),
        # the municipality's group 市辖区 is left out of the full name
        ("110105", "北京市朝阳区", "朝阳区, Beijing"),
        ("110100", "北京市", "Beijing"),
        # directly administered county-level city: 省直辖县级行政区划 left out
        ("429004", "湖北省仙桃市", "仙桃市, Hubei"),
        ("441900", "广东省东莞市", "东莞市, Guangdong"),
    ],
)
def test_full_names(code: str, zh: str, en: str) -> None:
    assert names.full_name(code) == {"zh": zh, "en": en}


def test_unknown_code_keeps_the_code_as_its_name() -> None:
    assert names.full_name("990000") is None
    assert names.region_name("990000") == {"zh": "990000", "en": "990000"}


def test_search() -> None:
    assert [r.code for r in names.search("杭州", level="prefecture")] == ["330100"]
    assert [r.code for r in names.search("zhejiang")] == ["330000"]
    kids = names.children("330100")
    assert len(kids) == 13
    assert all(r.parent == "330100" for r in kids)
    assert {r.code for r in names.search("3301", parent="330100")} == {r.code for r in kids}


def test_list_and_get(api: ApiClient) -> None:
    r = api.get("/v1/regions", params={"level": "province", "limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 31
    assert len(body["items"]) == 5
    assert body["items"][0] == {
        "code": "110000",
        "name_zh": "北京市",
        "name_en": "Beijing",
        "level": "province",
        "parent": "000000",
        "full_name": {"zh": "北京市", "en": "Beijing"},
    }
    assert "国家统计局" in body["source"]
    assert body["source_date"] == "2023-06-30"
    r = api.get("/v1/regions", params={"q": "西湖", "parent": "330100"})
    assert [i["code"] for i in r.json()["items"]] == ["330106"]

    r = api.get("/v1/regions/330106")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["full_name"] == {"zh": "浙江省杭州市西湖区", "en": "西湖区, 杭州市, Zhejiang"}
    assert [c["code"] for c in d["chain"]] == ["330100", "330000", "000000"]
    assert d["children"] == []
    assert len(api.get("/v1/regions/000000").json()["children"]) == 31


def test_unknown_and_malformed_codes(api: ApiClient) -> None:
    p = assert_problem(api.get("/v1/regions/990000"), 404)
    assert p["errors"][0]["loc"] == ["path", "code"]
    p = assert_problem(api.get("/v1/regions/33010"), 422)
    assert p["errors"][0]["loc"] == ["path", "code"]
    assert_problem(api.get("/v1/regions", params={"level": "town"}), 422)


def test_an_unknown_code_answers_in_the_language_asked(api: ApiClient) -> None:
    zh = assert_problem(api.get("/v1/regions/990000", headers={"Accept-Language": "zh-CN"}), 404)
    assert (zh["detail"], zh["errors"][0]["msg"]) == ("行政区划代码表中没有地区 990000", "未找到")
    en = assert_problem(api.get("/v1/regions/990000", headers={"Accept-Language": "en"}), 404)
    assert en["detail"] == "Region 990000 is not in the administrative division list"
    assert en["errors"][0]["msg"] == "not found"
