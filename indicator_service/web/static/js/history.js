// Evaluation history of a project across fiscal years (stored evaluations; evaluator keys).
import { api, el, field, fmt, lang, params, showError, start, t, table } from "./common.js";
import { yearChart } from "./chart.js";

const main = document.getElementById("main");
const out = el("div", { id: "history", "aria-live": "polite" });
let page = null;

function draw() {
  if (!page) return;
  if (!page.items.length) {
    out.replaceChildren(el("p", { id: "history-empty" }, t("history.empty")));
    return;
  }
  const items = [...page.items].sort(
    (a, b) => (a.fiscal_year ?? 0) - (b.fiscal_year ?? 0) || a.created_at.localeCompare(b.created_at),
  );
  // One bar per fiscal year: its latest evaluation.
  const latest = new Map();
  for (const item of items) latest.set(item.fiscal_year ?? "—", item);
  out.replaceChildren(
    el("h2", {}, t("history.chart")),
    yearChart(
      [...latest].map(([year, item]) => ({ label: String(year), value: item.total })),
      t("history.chart"),
    ),
    table(
      ["fiscal_year", "framework", "total", "grade", "region", "created_at"],
      items.map((e) => [
        fmt(e.fiscal_year),
        `${e.framework} ${e.version}`,
        fmt(e.total),
        e.grade || "—",
        e.region,
        new Date(e.created_at).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB"),
      ]),
      { id: "history-table" },
    ),
  );
}

function build() {
  const form = el(
    "form",
    { id: "history-form", class: "row" },
    field("project", "history.project", { required: true, maxlength: 80, value: params().get("project") || "" }),
    el("button", { type: "submit", "data-i18n": "history.go" }, t("history.go")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const project = form.querySelector("#project").value.trim();
    history.replaceState(null, "", `?project=${encodeURIComponent(project)}`);
    out.replaceChildren(el("p", {}, t("loading")));
    try {
      page = await api(`/v1/evaluations?project=${encodeURIComponent(project)}&limit=500`);
      draw();
    } catch (error) {
      page = null;
      showError(out, error);
    }
  });
  main.append(form, out);
  if (params().get("project")) form.requestSubmit();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else draw();
});
