// Standards lookup: indicator + region + year → the standard the scoring uses, with its derivation.
import { api, el, field, fmt, params, said, showError, citation, standardValue, start, t, table, word } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "lookup-result", "aria-live": "polite" });
let result = null;

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
    el("p", { id: "lookup-explanation" }, said(result, "explanation")),
    el("h3", {}, t("lookup.candidates")),
    table(
      ["rank", "type", "region", "region_level", "outcome", "reason", "value"],
      result.candidates.map((c) => [
        String(c.rank),
        word("stdtype", c.type),
        c.region,
        word("level", c.region_level),
        word("outcome", c.outcome),
        said(c, "reason"),
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
  } else draw();
});
