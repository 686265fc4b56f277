// 目标审核 (target review): a project's target table, typed in or uploaded as a 绩效目标申报表,
// reviewed by POST /v1/targets/review (or /v1/targets/review/form); evaluator keys.
import { api, el, field, fmt, lang, select, showError, start, t, table } from "./common.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const main = document.getElementById("main");
const out = el("div", { id: "targets-result", "aria-live": "polite" });
let review = null;

const text = (finding) => (lang() === "zh" ? finding.zh : finding.en);

function standardText(s) {
  const year = s.fiscal_year ? ` ${s.fiscal_year}` : "";
  const type = lang() === "zh" ? s.type_zh : s.type;
  const source = s.source && s.source.title ? ` — ${s.source.title}` : "";
  return `${type} ${s.operator || ""}${fmt(s.value)}${s.unit || ""} (${s.region}${year})${source}`;
}

function draw() {
  if (!review) return;
  const r = review.result;
  const verdict = lang() === "zh" ? r.verdict_zh : r.verdict_en;
  out.replaceChildren(
    el("h2", { id: "targets-verdict", "data-verdict": r.verdict }, `${t("targets.verdict")}: ${verdict}`),
    el("p", { id: "targets-explanation" }, lang() === "zh" ? r.explanation_zh : r.explanation_en),
    el("p", {}, t("targets.stored", { id: review.id, framework: `${r.framework} ${r.version}` })),
    el("h3", {}, t("targets.criteria")),
    table(
      ["targets.criterion", "targets.ok", "targets.count"],
      r.criteria.map((c) => [
        lang() === "zh" ? c.criterion_zh : c.criterion,
        c.ok ? t("targets.yes") : t("targets.no"),
        fmt(c.findings),
      ]),
      { id: "targets-criteria" },
    ),
    el("h3", {}, t("targets.findings")),
    r.findings.length
      ? table(
          ["targets.criterion", "targets.severity", "targets.row", "targets.finding", "targets.standards"],
          r.findings.map((f) => [
            lang() === "zh" ? f.criterion_zh : f.criterion,
            t(`targets.severity.${f.severity}`),
            f.row === null ? t("targets.table") : String(f.row + 1),
            text(f),
            f.standards.map(standardText).join("; ") || "—",
          ]),
          { id: "targets-findings" },
        )
      : el("p", { id: "targets-findings-none" }, t("targets.nofindings")),
    el("h3", {}, t("targets.rows")),
    table(
      ["targets.row", "targets.name", "targets.target", "targets.indicator", "targets.standards"],
      r.rows.map((row) => [
        String(row.index + 1),
        row.name,
        row.target,
        row.indicator ? `${row.indicator} (${t(`targets.linked.${row.linked_by}`)})` : t("targets.freetext"),
        row.standards.map(standardText).join("; ") || "—",
      ]),
      { id: "targets-rows" },
    ),
    el("h3", {}, t("targets.suggestions")),
    r.suggestions.length
      ? table(
          ["targets.indicator", "targets.name", "targets.class", "targets.proposed"],
          r.suggestions.map((s) => [
            s.indicator,
            lang() === "zh" ? s.name_zh : s.name_en,
            `${s.class_l1 || ""} / ${s.class_l2 || ""}${s.fills_missing_class ? ` (${t("targets.fills")})` : ""}`,
            s.proposed ? standardText({ ...s.proposed, type_zh: t(`targets.type.${s.proposed.type}`) }) : "—",
          ]),
          { id: "targets-suggestions" },
        )
      : el("p", {}, t("none")),
  );
}

function rowInputs(i) {
  const input = (name, attrs = {}) =>
    el("input", { class: `row-${name}`, name: `${name}-${i}`, "aria-label": t(`targets.${name}`), ...attrs });
  return el(
    "tr",
    {},
    el("td", {}, input("class_l1", { maxlength: 40 })),
    el("td", {}, input("class_l2", { maxlength: 40 })),
    el("td", {}, input("name", { maxlength: 200 })),
    el("td", {}, input("indicator", { maxlength: 40 })),
    el("td", {}, input("target", { maxlength: 200 })),
  );
}

function context(form) {
  const value = (id) => form.querySelector(`#${id}`).value.trim();
  const body = {
    framework: value("framework"),
    project: value("project"),
    region: value("region"),
    fiscal_year: Number(value("fiscal_year")),
  };
  for (const key of ["sector", "project_type", "unit", "overall_goal"]) if (value(key)) body[key] = value(key);
  if (value("budget")) body.budget = Number(value("budget"));
  return body;
}

async function submit(run) {
  out.replaceChildren(el("p", {}, t("loading")));
  try {
    review = await run();
    draw();
  } catch (error) {
    review = null;
    showError(out, error);
  }
}

function build() {
  const body = el("tbody", { id: "targets-table-body" }, [0, 1, 2, 3, 4].map(rowInputs));
  const head = ["targets.class_l1", "targets.class_l2", "targets.name", "targets.indicator", "targets.target"];
  const add = el("button", { type: "button", id: "targets-add", "data-i18n": "targets.add" }, t("targets.add"));
  add.addEventListener("click", () => body.append(rowInputs(body.children.length)));
  const form = el(
    "form",
    { id: "targets-form" },
    el(
      "div",
      { class: "row" },
      select("framework", "targets.framework", [
        ["SELF-EVAL", "SELF-EVAL"],
        ["SELF-EVAL-2021", "SELF-EVAL-2021"],
      ]),
      field("project", "targets.project", { required: true, maxlength: 80 }),
      field("unit", "targets.unit", { maxlength: 80 }),
      field("sector", "targets.sector", { maxlength: 40, placeholder: "education" }),
      field("project_type", "targets.project_type", { maxlength: 40, placeholder: "grant" }),
      field("region", "targets.region", { required: true, pattern: "\\d{6}", value: "000000" }),
      field("fiscal_year", "targets.fiscal_year", { required: true, type: "number", min: 1990, max: 2100 }),
      field("budget", "targets.budget", { type: "number", min: 0, step: "any" }),
    ),
    field("overall_goal", "targets.overall_goal", { maxlength: 4000, rows: 2 }, "textarea"),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { id: "targets-table" },
        el("thead", {}, el("tr", {}, head.map((k) => el("th", { scope: "col", "data-i18n": k }, t(k))))),
        body,
      ),
    ),
    el("div", { class: "row" }, add, el("button", { type: "submit", "data-i18n": "targets.go" }, t("targets.go"))),
  );
  form.querySelector("#fiscal_year").value = String(new Date().getFullYear() + 1);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const rows = [];
    for (const tr of body.children) {
      const get = (name) => tr.querySelector(`.row-${name}`).value.trim();
      if (!get("name") && !get("target")) continue;
      const row = { name: get("name"), target: get("target") };
      for (const key of ["class_l1", "class_l2", "indicator"]) if (get(key)) row[key] = get(key);
      rows.push(row);
    }
    submit(() => api("/v1/targets/review", { method: "POST", body: { ...context(form), rows } }));
  });
  const upload = el(
    "form",
    { id: "targets-upload", class: "row" },
    field("declaration", "targets.file", { type: "file", accept: `.xlsx,.xls,.csv,${XLSX}`, required: true }),
    el("button", { type: "submit", "data-i18n": "targets.upload" }, t("targets.upload")),
  );
  upload.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = upload.querySelector("#declaration").files[0];
    if (!file) return;
    const ctx = context(form);
    const query = new URLSearchParams({ region: ctx.region, framework: ctx.framework });
    for (const key of ["sector", "project_type", "budget"]) if (ctx[key] !== undefined) query.set(key, ctx[key]);
    const media = file.name.endsWith(".csv") ? "text/csv" : file.name.endsWith(".xls") ? "application/vnd.ms-excel" : XLSX;
    submit(() =>
      api(`/v1/targets/review/form?${query}`, { method: "POST", body: file, headers: { "Content-Type": media } }),
    );
  });
  main.append(
    el("p", { "data-i18n": "targets.intro" }, t("targets.intro")),
    form,
    el("h2", { "data-i18n": "targets.orupload" }, t("targets.orupload")),
    upload,
    out,
  );
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else draw();
});
