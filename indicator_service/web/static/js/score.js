// Scoring: upload a self-evaluation form (XLSX/XLS/CSV; the national 自评表 layout or the flat
// one) or fill in rows; show the receipt; download the scored workbook (or PDF); save the
// evaluation (evaluator keys); download a blank form of the framework.
import { api, ApiError, download, el, field, nameOf, showError, start, t } from "./common.js";
import { renderReceipt } from "./receipt.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const XLS = "application/vnd.ms-excel";
const PDF = "application/pdf";
const OPERATORS = ["≥", ">", "=", "≤", "<", "定性"];
const ROW_FIELDS = ["class_l1", "class_l2", "name", "points", "operator", "target", "unit", "value", "level"];
const CSV_COLUMNS = {
  class_l1: "class_l1",
  class_l2: "class_l2",
  name: "name",
  points: "points",
  operator: "operator",
  target: "target",
  unit: "unit",
  value: "value",
  level: "level",
};

const main = document.getElementById("main");
const out = el("div", { id: "result", "aria-live": "polite" });
const actions = el("div", { id: "result-actions", class: "row" });
const state = { frameworks: [], framework: null, results: null, last: null, rowCount: 0 };

function frameworkCode() {
  return document.getElementById("framework").value;
}

function problemList(r) {
  // a form of a national-layout workbook that could not be scored: its problems by cell
  return el(
    "section",
    { class: "card form-problems" },
    el("h3", {}, t("score.problems", { key: r.key })),
    el("ul", {}, r.problems.map((p) => el("li", {}, el("code", {}, p.cell || ""), " ", p.msg))),
  );
}

function drawResults() {
  if (!state.results) return;
  out.replaceChildren(
    ...state.results.map((r) =>
      r.receipt
        ? renderReceipt(r.receipt, state.results.length > 1 ? t("receipt.submission", { key: r.key }) : "")
        : problemList(r),
    ),
  );
}

function showResults(results, last) {
  state.results = results;
  state.last = last;
  drawResults();
  const buttons = [el("button", { type: "button", id: "download", onclick: downloadXlsx }, t("score.download"))];
  if (last.national)
    buttons.push(el("button", { type: "button", id: "download-pdf", class: "secondary", onclick: downloadPdf }, t("score.pdf")));
  if (last.kind === "rows" || last.requests?.length)
    buttons.push(el("button", { type: "button", id: "save", class: "secondary", onclick: saveEvaluation }, t("score.save")));
  actions.replaceChildren(...buttons, el("span", { id: "save-status", role: "status" }));
}

async function downloadXlsx() {
  const last = state.last;
  try {
    const response = await api(`/v1/forms/score?framework=${encodeURIComponent(last.framework)}`, {
      method: "POST",
      body: last.blob,
      headers: { "Content-Type": last.type, Accept: XLSX },
      raw: true,
    });
    download(await response.blob(), `${last.name}.scored.xlsx`);
  } catch (error) {
    showError(out, error);
  }
}

async function downloadPdf() {
  const last = state.last;
  try {
    const response = await api(`/v1/forms/score?framework=${encodeURIComponent(last.framework)}`, {
      method: "POST",
      body: last.blob,
      headers: { "Content-Type": last.type, Accept: PDF },
      raw: true,
    });
    download(await response.blob(), `${last.name}.scored.pdf`);
  } catch (error) {
    showError(out, error);
  }
}

async function downloadTemplate() {
  try {
    const code = frameworkCode();
    const response = await api(`/v1/frameworks/${encodeURIComponent(code)}/template`, { headers: { Accept: XLSX }, raw: true });
    download(await response.blob(), `template-${code}.xlsx`);
  } catch (error) {
    showError(out, error);
  }
}

async function saveEvaluation() {
  const status = document.getElementById("save-status");
  try {
    // a national-layout workbook: each scored form's request (with its project and funds blocks)
    const requests = state.last.requests?.length ? state.last.requests : [state.last.request];
    const ids = [];
    for (const request of requests) ids.push((await api("/v1/evaluations", { method: "POST", body: request })).id);
    status.textContent = t("score.saved", { id: ids.join(", #") });
  } catch (error) {
    status.replaceChildren();
    showError(status, error);
  }
}

function mediaOf(file) {
  if (file.name.toLowerCase().endsWith(".xlsx")) return XLSX;
  if (file.name.toLowerCase().endsWith(".xls")) return XLS;
  if (file.name.toLowerCase().endsWith(".csv")) return "text/csv";
  return file.type || "application/octet-stream";
}

async function upload(event) {
  event.preventDefault();
  const file = document.getElementById("form-file").files[0];
  if (!file) return;
  out.replaceChildren(el("p", {}, t("loading")));
  actions.replaceChildren();
  const type = mediaOf(file);
  try {
    const answer = await api(`/v1/forms/score?framework=${encodeURIComponent(frameworkCode())}`, {
      method: "POST",
      body: file,
      headers: { "Content-Type": type },
    });
    const national = answer.layout === "national";
    showResults(
      answer.items.map((i) => ({ key: i.submission, receipt: i.receipt, problems: i.problems || [] })),
      {
        kind: "file",
        national,
        requests: national ? answer.items.filter((i) => i.request && i.receipt).map((i) => i.request) : [],
        framework: frameworkCode(),
        blob: file,
        type,
        name: file.name.replace(/\.[^.]+$/, ""),
      },
    );
  } catch (error) {
    state.results = null;
    showError(out, error);
  }
}

// --- rows ---------------------------------------------------------------------------------

function classOptions() {
  const fw = state.framework;
  if (!fw) return { l1: [], l2: [] };
  const open = fw.nodes.filter((n) => n.open);
  return {
    l1: open.filter((n) => n.level === 1).map((n) => n.name_zh),
    l2: open.filter((n) => n.level === 2).map((n) => n.name_zh),
  };
}

function datalists() {
  const { l1, l2 } = classOptions();
  return [
    el("datalist", { id: "classes-l1" }, l1.map((v) => el("option", { value: v }))),
    el("datalist", { id: "classes-l2" }, l2.map((v) => el("option", { value: v }))),
  ];
}

function rowFieldset(n) {
  const id = (f) => `row-${n}-${f}`;
  const box = el(
    "fieldset",
    { class: "score-row", "data-row": n },
    el("legend", {}, t("score.row", { n })),
    field(id("class_l1"), "class_l1", { list: "classes-l1", required: true }),
    field(id("class_l2"), "class_l2", { list: "classes-l2" }),
    field(id("name"), "row.name", { maxlength: 200 }),
    field(id("points"), "row.points", { type: "number", step: "any", min: 0, required: true }),
    el(
      "div",
      { class: "field" },
      el("label", { for: id("operator") }, t("operator")),
      el("select", { id: id("operator"), name: id("operator") }, OPERATORS.map((o) => el("option", { value: o }, o))),
    ),
    field(id("target"), "row.target", { type: "number", step: "any" }),
    field(id("unit"), "unit", { maxlength: 20 }),
    field(id("value"), "row.value", { type: "number", step: "any" }),
    field(id("level"), "row.level", { maxlength: 40, placeholder: "achieved / partial / not_achieved" }),
    el(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => box.remove(),
        "aria-label": t("score.removerow", { n }),
      },
      "✕",
    ),
  );
  return box;
}

function addRow(values = {}) {
  state.rowCount += 1;
  const n = state.rowCount;
  const box = rowFieldset(n);
  document.getElementById("rows").append(box);
  for (const [name, value] of Object.entries(values)) {
    const input = document.getElementById(`row-${n}-${name}`);
    if (input) input.value = value;
  }
  return box;
}

function readRows() {
  return [...document.querySelectorAll("#rows fieldset")].map((box) => {
    const n = box.dataset.row;
    const row = {};
    for (const f of ROW_FIELDS) {
      const v = document.getElementById(`row-${n}-${f}`).value.trim();
      if (v !== "") row[f] = v;
    }
    return row;
  });
}

function number(text) {
  return text === undefined || text === "" ? undefined : Number(text);
}

function submissionBase() {
  const body = { framework: frameworkCode() };
  const project = document.getElementById("project").value.trim();
  const region = document.getElementById("region").value.trim();
  const year = document.getElementById("fiscal_year").value.trim();
  if (project) body.project = project;
  if (region) body.region = region;
  if (year) body.fiscal_year = Number(year);
  const adjusted = document.getElementById("budget_adjusted").value.trim();
  const executed = document.getElementById("budget_executed").value.trim();
  if (adjusted || executed) body.budget = { adjusted: number(adjusted), executed: number(executed) };
  return body;
}

function toRequest(rows) {
  const body = submissionBase();
  body.rows = rows.map((row, index) => {
    const r = { id: `row${index + 1}`, class_l1: row.class_l1, points: number(row.points) };
    for (const f of ["class_l2", "name", "operator", "unit", "level"]) if (row[f]) r[f] = row[f];
    for (const f of ["target", "value"]) if (row[f] !== undefined) r[f] = number(row[f]);
    if (r.operator === "定性") delete r.target;
    return r;
  });
  return body;
}

function csvCell(value) {
  const text = value === undefined || value === null ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The same submission as a CSV form (what the download operation reads). */
function toCsv(request, rows) {
  const head = ["framework", "project", "region", "fiscal_year", "budget_adjusted", "budget_executed", ...Object.values(CSV_COLUMNS)];
  const lines = [head.join(",")];
  rows.forEach((row, index) => {
    const first = index === 0;
    lines.push(
      [
        request.framework,
        first ? request.project : "",
        first ? request.region : "",
        first ? request.fiscal_year : "",
        first && request.budget ? request.budget.adjusted : "",
        first && request.budget ? request.budget.executed : "",
        ...Object.keys(CSV_COLUMNS).map((f) => row[f]),
      ]
        .map(csvCell)
        .join(","),
    );
  });
  return lines.join("\n") + "\n";
}

async function scoreRows(event) {
  event.preventDefault();
  const rows = readRows();
  const request = toRequest(rows);
  out.replaceChildren(el("p", {}, t("loading")));
  actions.replaceChildren();
  try {
    const receipt = await api("/v1/score", { method: "POST", body: request });
    const csv = new Blob([toCsv(request, rows)], { type: "text/csv" });
    showResults([{ key: "1", receipt }], {
      kind: "rows",
      framework: request.framework,
      request,
      blob: csv,
      type: "text/csv",
      name: request.project || "evaluation",
    });
  } catch (error) {
    state.results = null;
    showError(out, error instanceof ApiError ? error : new Error(String(error)));
  }
}

async function loadFramework() {
  try {
    state.framework = await api(`/v1/frameworks/${encodeURIComponent(frameworkCode())}`);
    document.getElementById("class-lists").replaceChildren(...datalists());
  } catch (error) {
    showError(out, error);
  }
}

async function build() {
  const frameworkSelect = el("select", { id: "framework", name: "framework" });
  frameworkSelect.addEventListener("change", loadFramework);
  const common = el(
    "form",
    { id: "submission-form", class: "row card" },
    el("div", { class: "field" }, el("label", { for: "framework", "data-i18n": "framework" }, t("framework")), frameworkSelect),
    field("project", "project", { maxlength: 80 }),
    field("region", "region", { value: "000000", pattern: "\\d{6}", maxlength: 6, inputmode: "numeric" }),
    field("fiscal_year", "fiscal_year", { type: "number", min: 1990, max: 2100 }),
  );
  common.addEventListener("submit", (e) => e.preventDefault());
  const uploadForm = el(
    "form",
    { id: "upload-form", class: "row" },
    field("form-file", "score.file", { type: "file", accept: ".xlsx,.xls,.csv", required: true }),
    el("button", { type: "submit", id: "upload-go", "data-i18n": "score.uploadgo" }, t("score.uploadgo")),
    el("button", { type: "button", id: "template", class: "secondary", onclick: downloadTemplate, "data-i18n": "score.template" }, t("score.template")),
  );
  uploadForm.addEventListener("submit", upload);
  const rowsForm = el(
    "form",
    { id: "rows-form" },
    el(
      "div",
      { class: "row" },
      field("budget_adjusted", "budget.adjusted", { type: "number", step: "any", min: 0 }),
      field("budget_executed", "budget.executed", { type: "number", step: "any", min: 0 }),
    ),
    el("div", { id: "rows" }),
    el("div", { id: "class-lists" }),
    el(
      "div",
      { class: "row" },
      el("button", { type: "button", id: "add-row", class: "secondary", onclick: () => addRow(), "data-i18n": "score.addrow" }, t("score.addrow")),
      el("button", { type: "submit", id: "score-go", "data-i18n": "score.go" }, t("score.go")),
    ),
  );
  rowsForm.addEventListener("submit", scoreRows);
  main.append(
    common,
    el("section", { "aria-labelledby": "upload-h" }, el("h2", { id: "upload-h", "data-i18n": "score.upload" }, t("score.upload")), uploadForm),
    el("section", { "aria-labelledby": "rows-h" }, el("h2", { id: "rows-h", "data-i18n": "score.rows" }, t("score.rows")), rowsForm),
    actions,
    out,
  );
  addRow();
  try {
    const list = await api("/v1/frameworks");
    state.frameworks = list.items;
    drawFrameworkOptions();
    await loadFramework();
  } catch (error) {
    showError(out, error);
  }
}

function drawFrameworkOptions() {
  const select = document.getElementById("framework");
  const current = select.value || "SELF-EVAL";
  select.replaceChildren(
    ...state.frameworks.map((f) =>
      el("option", { value: f.code, selected: f.code === current }, `${nameOf(f)} (${f.code})`),
    ),
  );
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
    return;
  }
  drawFrameworkOptions();
  drawResults();
  for (const box of document.querySelectorAll("#rows fieldset")) {
    const n = box.dataset.row;
    box.querySelector("legend").textContent = t("score.row", { n });
    for (const f of ["class_l1", "class_l2", "name", "points", "operator", "target", "unit", "value", "level"]) {
      const key = { name: "row.name", points: "row.points", target: "row.target", value: "row.value", level: "row.level" }[f] || f;
      const label = box.querySelector(`label[for="row-${n}-${f}"]`);
      if (label) label.textContent = t(key);
    }
  }
});
