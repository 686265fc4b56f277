// 自评与再评价对比: a self-evaluation against its re-evaluation (GET /v1/evaluations/{id}/comparison).
import { api, el, field, fmt, lang, params, showError, start, t, table } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "compare", "aria-live": "polite" });
let data = null;

function describe(ev) {
  return t("compare.evaluation", {
    id: ev.id,
    kind: t(`compare.kind.${ev.kind}`),
    total: fmt(ev.total),
    grade: ev.grade || "—",
  });
}

function draw() {
  if (!data) return;
  const verdict = data.distorted
    ? t("compare.distorted_as", { what: t("compare.distorted"), how: t(`compare.${data.direction}`) })
    : t("compare.not_distorted");
  const rule = data.rule;
  out.replaceChildren(
    el("p", { id: "compare-verdict", class: data.distorted ? "error" : "ok" }, verdict),
    el("p", { id: "compare-explanation" }, lang() === "zh" ? data.explanation_zh : data.explanation_en),
    el(
      "p",
      { id: "compare-rule", class: "hint" },
      t("compare.threshold", {
        points: fmt(rule.total_points),
        share: fmt(rule.leaf_share * 100),
        source: t(`compare.source.${rule.source}`),
      }),
    ),
    el("ul", { id: "compare-pair" }, el("li", {}, describe(data.self_evaluation)), el("li", {}, describe(data.reevaluation))),
    el("h2", {}, t("compare.summary")),
    table(
      ["compare.what", "compare.self", "compare.re", "compare.difference"],
      [
        [t("compare.total"), fmt(data.self_evaluation.total), fmt(data.reevaluation.total), fmt(data.total_difference)],
        [t("compare.grade"), data.self_evaluation.grade || "—", data.reevaluation.grade || "—", data.grade_changed ? "≠" : "="],
      ],
      { id: "compare-summary" },
    ),
    el("h2", {}, t("compare.leaves")),
    table(
      ["compare.leaf", "compare.points", "compare.self", "compare.re", "compare.difference", "compare.flag"],
      data.leaves.map((leaf) => [
        leaf.name || leaf.code,
        fmt(leaf.points),
        fmt(leaf.self_score),
        fmt(leaf.reevaluation_score),
        fmt(leaf.difference),
        leaf.distorted ? t("compare.yes") : "",
      ]),
      { id: "compare-leaves" },
    ),
  );
  const rows = out.querySelectorAll("#compare-leaves tbody tr");
  data.leaves.forEach((leaf, i) => {
    if (leaf.distorted) rows[i].classList.add("warn");
  });
}

function build() {
  const form = el(
    "form",
    { id: "compare-form", class: "row" },
    field("compare-id", "compare.id", {
      required: true,
      type: "number",
      min: 1,
      step: 1,
      inputmode: "numeric",
      value: params().get("id") || "",
    }),
    el("button", { type: "submit", id: "compare-go", "data-i18n": "compare.go" }, t("compare.go")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = form.querySelector("#compare-id").value.trim();
    history.replaceState(null, "", `?id=${encodeURIComponent(id)}`);
    out.replaceChildren(el("p", {}, t("loading")));
    try {
      data = await api(`/v1/evaluations/${encodeURIComponent(id)}/comparison`);
      draw();
    } catch (error) {
      data = null;
      showError(out, error);
    }
  });
  main.append(el("p", { class: "hint", "data-i18n": "compare.hint" }, t("compare.hint")), form, out);
  if (params().get("id")) form.requestSubmit();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else draw();
});
