// 绩效运行监控: monitor a project during the year (budget execution and indicator progress against
// the time schedule, year-end forecasts, flags needing 偏离原因 and 纠偏措施), store it and
// download the 绩效监控表 workbook. Public API only: /v1/frameworks, /v1/monitoring.
import { api, download, el, field, fmt, lang, nameOf, select, showError, start, t, table } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "mon-result", "aria-live": "polite" });
const OPERATORS = ["≥", ">", "=", "≤", "<"];
const ROW_FIELDS = ["class_l1", "name", "operator", "target", "unit", "kind", "actual", "reason", "measure"];
let rowCount = 0;
let record = null;

function pct(x) {
  return x === null || x === undefined ? "—" : `${fmt(x * 100)}%`;
}

function text(obj, name = "text") {
  return lang() === "zh" ? obj[`${name}_zh`] : obj[`${name}_en`];
}

function rowFieldset() {
  rowCount += 1;
  const n = rowCount;
  const id = (name) => `mon-row-${n}-${name}`;
  const cell = (name, attrs = {}) => field(id(name), `mon.row.${name}`, attrs);
  return el(
    "fieldset",
    { class: "row card score-row", "data-row": String(n) },
    el("legend", {}, `R${n}`),
    cell("class_l1", { maxlength: 80 }),
    cell("name", { required: true, maxlength: 200 }),
    select(id("operator"), "mon.row.operator", OPERATORS.map((o) => [o, o])),
    cell("target", { type: "number", step: "any", required: true }),
    cell("unit", { maxlength: 80 }),
    select(id("kind"), "mon.row.kind", [
      ["cumulative", t("mon.kind.cumulative")],
      ["level", t("mon.kind.level")],
    ]),
    cell("actual", { type: "number", step: "any" }),
    cell("reason", { maxlength: 2000 }),
    cell("measure", { maxlength: 2000 }),
  );
}

function value(form, selector) {
  const node = form.querySelector(selector);
  return node ? node.value.trim() : "";
}

function number(v) {
  return v === "" ? null : Number(v);
}

function body(form) {
  const req = {
    framework: value(form, "#mon-framework"),
    project: value(form, "#mon-project"),
    region: value(form, "#mon-region") || "000000",
    fiscal_year: Number(value(form, "#mon-year")),
    as_of: value(form, "#mon-as-of"),
    indicators: [],
  };
  for (const [key, sel] of [["project_name", "#mon-project-name"], ["goal", "#mon-goal"]]) {
    if (value(form, sel)) req[key] = value(form, sel);
  }
  if (value(form, "#mon-budget") !== "") {
    req.budget = { budget: number(value(form, "#mon-budget")), executed: number(value(form, "#mon-executed")) ?? 0 };
    if (value(form, "#mon-budget-reason")) req.budget.reason = value(form, "#mon-budget-reason");
    if (value(form, "#mon-budget-measure")) req.budget.measure = value(form, "#mon-budget-measure");
  }
  for (const set of form.querySelectorAll("fieldset[data-row]")) {
    const n = set.dataset.row;
    const get = (name) => value(set, `#mon-row-${n}-${name}`);
    const row = { id: `R${n}`, name: get("name"), operator: get("operator"), target: number(get("target")), kind: get("kind") };
    if (get("class_l1")) row.class_l1 = get("class_l1");
    if (get("unit")) row.unit = get("unit");
    if (get("actual") !== "") row.actual = number(get("actual"));
    if (get("reason")) row.reason = get("reason");
    if (get("measure")) row.measure = get("measure");
    req.indicators.push(row);
  }
  return req;
}

function draw() {
  if (!record) return;
  const res = record.result;
  const parts = [
    el("h2", {}, t("mon.result", { id: record.id })),
    el("p", { id: "mon-summary" }, text(res, "summary")),
    el("p", { class: "muted" }, t("mon.thresholds", {
      gap: pct(res.thresholds.execution_gap),
      tol: pct(res.thresholds.miss_tolerance),
      fw: `${record.framework} ${record.version}`,
    })),
  ];
  if (res.budget) parts.push(el("h3", {}, t("mon.budget")), el("p", { id: "mon-budget-text" }, text(res.budget)));
  parts.push(
    el("h3", {}, t("mon.indicators")),
    table(
      ["mon.row.name", "mon.col.target", "mon.row.actual", "mon.col.time", "mon.col.forecast", "mon.col.completion", "mon.col.status"],
      res.indicators.map((i) => [
        i.name,
        `${i.operator}${fmt(i.target, 4)}${i.unit || ""}`,
        fmt(i.actual, 4),
        pct(i.time_progress),
        fmt(i.forecast, 4),
        pct(i.forecast_completion),
        el("span", { class: i.status === "likely_missed" ? "warn" : "" }, text(i, "status")),
      ]),
      { id: "mon-indicators" },
    ),
    el("ul", { class: "muted" }, res.indicators.map((i) => el("li", {}, text(i)))),
    el("h3", {}, t("mon.flags")),
  );
  if (!res.flags.length) parts.push(el("p", { id: "mon-no-flags" }, t("mon.noflags")));
  else
    parts.push(
      table(
        ["mon.col.flag", "mon.col.kind", "mon.col.state", "mon.col.text"],
        res.flags.map((f) => [
          el("code", {}, f.id),
          text(f, "label"),
          el("span", { class: f.status === "explained" ? "" : "warn" }, t(`mon.state.${f.status}`)),
          text(f),
        ]),
        { id: "mon-flags" },
      ),
    );
  const button = el("button", { type: "button", id: "mon-workbook" }, t("mon.workbook"));
  button.addEventListener("click", async () => {
    try {
      const response = await api(`/v1/monitoring/${record.id}/workbook`, {
        raw: true,
        headers: { Accept: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
      });
      download(await response.blob(), `monitoring-${record.id}.xlsx`);
    } catch (error) {
      showError(out, error);
    }
  });
  parts.push(el("p", {}, button));
  out.replaceChildren(...parts);
}

async function build() {
  const frameworks = el("div", { class: "field" });
  const today = new Date().toISOString().slice(0, 10);
  const rows = el("div", { id: "mon-rows" }, rowFieldset());
  const add = el("button", { type: "button", id: "mon-add-row", "data-i18n": "mon.addrow" }, t("mon.addrow"));
  add.addEventListener("click", () => rows.append(rowFieldset()));
  const form = el(
    "form",
    { id: "mon-form" },
    el(
      "div",
      { class: "row" },
      frameworks,
      field("mon-project", "mon.project", { required: true, maxlength: 80 }),
      field("mon-project-name", "mon.projectname", { maxlength: 200 }),
      field("mon-region", "mon.region", { pattern: "\\d{6}", value: "000000" }),
      field("mon-year", "mon.year", { type: "number", required: true, min: 1990, max: 2100, value: today.slice(0, 4) }),
      field("mon-as-of", "mon.asof", { type: "date", required: true, value: today }),
    ),
    el("div", { class: "row" }, field("mon-goal", "mon.goal", { maxlength: 2000 })),
    el("h2", { "data-i18n": "mon.budget" }, t("mon.budget")),
    el(
      "div",
      { class: "row" },
      field("mon-budget", "mon.budget.total", { type: "number", step: "any", min: 0 }),
      field("mon-executed", "mon.budget.executed", { type: "number", step: "any", min: 0 }),
      field("mon-budget-reason", "mon.row.reason", { maxlength: 2000 }),
      field("mon-budget-measure", "mon.row.measure", { maxlength: 2000 }),
    ),
    el("h2", { "data-i18n": "mon.indicators" }, t("mon.indicators")),
    rows,
    el("p", {}, add, " ", el("button", { type: "submit", "data-i18n": "mon.go" }, t("mon.go"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren(el("p", {}, t("loading")));
    try {
      record = await api("/v1/monitoring", { method: "POST", body: body(form) });
      draw();
    } catch (error) {
      record = null;
      showError(out, error);
    }
  });
  main.append(form, out);
  try {
    const list = await api("/v1/frameworks");
    const items = Array.isArray(list) ? list : list.items || [];
    const options = items.map((f) => [f.code, `${f.code} · ${nameOf(f)}`]);
    const picker = select("mon-framework", "mon.framework", options);
    frameworks.replaceWith(picker);
    picker.querySelector("select").value = items.some((f) => f.code === "SELF-EVAL") ? "SELF-EVAL" : options[0]?.[0];
  } catch (error) {
    frameworks.replaceWith(field("mon-framework", "mon.framework", { value: "SELF-EVAL", required: true }));
  }
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else draw();
});
