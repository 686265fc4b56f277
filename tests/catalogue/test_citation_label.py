"""``citation_label``: the one-line form of a citation, from a model, from stored JSON (cached
per content) and from what is not a citation."""

from __future__ import annotations

from indicator_service.catalogue.source import Citation, citation_label

CITATION = {
    "title": "项目支出绩效评价管理办法",
    "issuer": "财政部",
    "doc_number": "财预〔2020〕10号",
    "year": 2020,
    "section": "第三十八条",
}


def test_stored_json_reads_as_the_model_does() -> None:
    model = Citation.model_validate(CITATION)
    assert citation_label(CITATION) == model.label() == citation_label(model)
    assert (
        citation_label(CITATION)
        == "项目支出绩效评价管理办法（财政部 财预〔2020〕10号, 2020） 第三十八条"
    )


def test_each_content_gets_its_own_label() -> None:
    # the cache is keyed by content: a changed field is a different label, every time
    for year in (2020, 2021, 2020):
        changed = {**CITATION, "year": year}
        assert citation_label(changed) == Citation.model_validate(changed).label()
        assert f", {year}）" in (citation_label(changed) or "")
    assert citation_label({**CITATION, "section": None}).endswith("2020）")  # type: ignore[union-attr]


def test_what_is_not_a_citation_is_shown_as_it_is() -> None:
    assert citation_label(None) is None
    assert citation_label("财预〔2020〕10号") == "财预〔2020〕10号"  # stored before citations
    odd = {"title": "x", "issuer": "y", "extra": ["not", "hashable"]}
    assert citation_label(odd) == str(odd)  # unhashable value: not cached, not a citation
    assert citation_label({"title": "x"}) == str({"title": "x"})  # missing issuer
