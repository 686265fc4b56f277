// Standards lookup: indicator + region + year → the standard the scoring uses, with its derivation.
import { api, el, field, fmt, lang, params, said, showError, citation, standardValue, start, t, table, word } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "lookup-result", "aria-live": "polite" });
let result = null;

const HAN = /[\u4e00-\u9fff]/;

/** The API's sentence in the page's language; in Chinese, when the API sent English only, the
 * same facts said from the candidate's fields. */
function reasonOf(c) {
  const text = said(c, "reason");
  if (lang() !== "zh" || HAN.test(text)) return text;
  const here = `${c.region}（${word("level", c.region_level)}）`;
  if (c.outcome === "none") return `${here}没有${word("stdtype", c.type)}`;
  if (c.outcome === "won") return `${here}的${word("stdtype", c.type)}：按标准类型优先顺序和地区由近及远首个匹配`;
  const winner = result.candidates.find((x) => x.outcome === "won");
  return winner
    ? `采用了优先的 ${winner.region} ${word("stdtype", winner.type)}`
    : `${here}的${word("stdtype", c.type)}未被采用`;
}

function explanationOf() {
  const text = said(result, "explanation");
  if (lang() !== "zh" || HAN.test(text)) return text;
  const winner = result.candidates.find((x) => x.outcome === "won");
  if (!winner) return t("lookup.none");
  const order = [...new Set(result.candidates.map((c) => word("stdtype", c.type)))].join(" → ");
  const tried = result.candidates.filter((c) => c.type === winner.type && c.rank < winner.rank).map((c) => c.region);
  return `采用 ${winner.region}（${word("level", winner.region_level)}）的${word("stdtype", winner.type)}：标准类型按 ${order} 的顺序、地区由近及远逐级查找，首个匹配${
    tried.length ? `（${tried.join("、")} 没有${word("stdtype", winner.type)}）` : ""
  }。`;
}

function draw() {
  if (!result) return;
  const s = result.standard;
  out.replaceChildren(
    el("h2", {}, t("lookup.result")),
    s
      ? el(
          "dl",
          { class: "facts", id: "lookup-standard" },
          [
            ["value", standardValue(s)],
            ["type", word("stdtype", s.type)],
            ["region", s.region],
            ["fiscal_year", fmt(s.fiscal_year)],
            ["namespace", `${s.namespace} ${s.namespace_version}`],
            ["derivation", s.derivation || "—"],
            ["source", citation(s)],
          ].flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { "data-field": k }, v)]),
        )
      : el("p", { id: "lookup-none" }, t("lookup.none")),
    el("h3", {}, t("lookup.why")),
    el("p", { id: "lookup-explanation" }, explanationOf()),
    el("h3", {}, t("lookup.candidates")),
    table(
      ["rank", "type", "region", "region_level", "outcome", "reason", "value"],
      result.candidates.map((c) => [
        String(c.rank),
        word("stdtype", c.type),
        c.region,
        word("level", c.region_level),
        word("outcome", c.outcome),
        reasonOf(c),
        standardValue(c.standard),
      ]),
      { id: "candidates-table" },
    ),
  );
}

function build() {
  const p = params();
  const form = el(
    "form",
    { id: "lookup-form", class: "row" },
    field("indicator", "lookup.indicator", {
      value: p.get("indicator") || "",
      required: true,
      maxlength: 40,
      autocomplete: "off",
    }),
    field("region", "region", {
      value: p.get("region") || "000000",
      required: true,
      pattern: "\\d{6}",
      inputmode: "numeric",
      maxlength: 6,
    }),
    field("fiscal_year", "fiscal_year", {
      type: "number",
      min: 1990,
      max: 2100,
      value: p.get("fiscal_year") || String(new Date().getFullYear()),
    }),
    el("button", { type: "submit", "data-i18n": "lookup.go" }, t("lookup.go")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = new URLSearchParams({
      indicator: form.querySelector("#indicator").value.trim(),
      region: form.querySelector("#region").value.trim(),
    });
    const year = form.querySelector("#fiscal_year").value.trim();
    if (year) q.set("fiscal_year", year);
    history.replaceState(null, "", `?${q}`);
    out.replaceChildren(el("p", {}, t("loading")));
    try {
      result = await api(`/v1/standards/resolve?${q}`);
      draw();
    } catch (error) {
      result = null;
      showError(out, error);
    }
  });
  main.append(form, out);
  if (p.get("indicator") && p.get("fiscal_year")) form.requestSubmit();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else if (result) {
    // the API's reason and explanation are in the language asked: ask again in the new one
    document.getElementById("lookup-form").requestSubmit();
  } else draw();
});
