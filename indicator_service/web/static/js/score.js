// Scoring: upload a self-evaluation form (XLSX/XLS/CSV; the national 自评表 layout or the flat
// one) or fill in rows; show the receipt; download the scored workbook (or PDF); save the
// evaluation (evaluator keys); download a blank form of the framework.
import { api, ApiError, download, el, field, lang, nameOf, printButton, showError, standardValue, start, t, word } from "./common.js";
import { renderReceipt } from "./receipt.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const XLS = "application/vnd.ms-excel";
const PDF = "application/pdf";
const OPERATORS = ["≥", ">", "=", "≤", "<", "定性"];
const ROW_FIELDS = ["indicator", "class_l1", "class_l2", "name", "points", "operator", "target", "unit", "value", "level", "explanation"];
const CSV_COLUMNS = {
  indicator: "indicator",
  class_l1: "class_l1",
  class_l2: "class_l2",
  name: "name",
  points: "points",
  operator: "operator",
  target: "target",
  unit: "unit",
  value: "value",
  level: "level",
  explanation: "偏差原因分析及改进措施",
};
// The national default qualitative levels (rules/vocabulary.py; labels.js qlevel.*, a test
// keeps them equal) for frameworks that do not name their own.
const DEFAULT_LEVELS = ["achieved", "partial", "not_achieved"];

const main = document.getElementById("main");
const out = el("div", { id: "result", "aria-live": "polite" });
const actions = el("div", { id: "result-actions", class: "row" });
const state = { frameworks: [], framework: null, results: null, last: null, rowCount: 0, picked: new Map() };

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
  const buttons = last.blob
    ? [el("button", { type: "button", id: "download", onclick: downloadXlsx }, t("score.download"))]
    : [];
  if (last.national)
    buttons.push(el("button", { type: "button", id: "download-pdf", class: "secondary", onclick: downloadPdf }, t("score.pdf")));
  if (last.kind === "rows" || last.requests?.length)
    buttons.push(el("button", { type: "button", id: "save", class: "secondary", onclick: saveEvaluation }, t("score.save")));
  buttons.push(printButton());
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

/** A key naming the request's content (two FNV-1a hashes of its JSON): saving the same
 * evaluation twice replays the first answer instead of storing it again. Computed here rather
 * than with crypto.subtle, which plain-HTTP deployments do not have. */
function idempotencyKey(request) {
  const text = JSON.stringify(request);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return `ui-${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}-${text.length}`;
}

async function saveEvaluation() {
  const status = document.getElementById("save-status");
  try {
    // each scored form's request (a national form's with its project and funds blocks)
    const requests = state.last.requests?.length ? state.last.requests : [state.last.request];
    const saved = [];
    for (const request of requests)
      saved.push(
        await api("/v1/evaluations", { method: "POST", body: request, headers: { "Idempotency-Key": idempotencyKey(request) } }),
      );
    status.replaceChildren(
      t("score.saved", { id: saved.map((e) => e.id).join(", #") }),
      " ",
      ...saved.map((e) => el("a", { href: `/ui/history?evaluation=${e.id}`, class: "saved-link" }, t("score.open", { id: e.id }))),
    );
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
        requests: answer.items.filter((i) => i.request && i.receipt).map((i) => i.request),
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

/** The framework's qualitative levels: its own, else those of a qualitative node, else the
 * national defaults. */
function frameworkLevels() {
  const fw = state.framework;
  const own = fw && fw.rule_variants && fw.rule_variants.qualitative_levels;
  if (own && own.length) return own;
  const node = fw && fw.nodes.find((n) => n.rule && n.rule.kind === "qualitative" && n.rule.levels);
  if (node) return node.rule.levels;
  return DEFAULT_LEVELS.map((code) => ({ code }));
}

function levelName(level) {
  if (lang() === "zh" ? level.name_zh : level.name_en) return lang() === "zh" ? level.name_zh : level.name_en;
  return word("qlevel", level.code);
}

function levelOptions(levels, current = "") {
  return [
    el("option", { value: "" }, t("level.choose")),
    ...levels.map((l) => el("option", { value: l.code, selected: l.code === current }, levelName(l))),
  ];
}

function levelSelect(id, levels) {
  return el(
    "div",
    { class: "field" },
    el("label", { for: id, "data-i18n": "row.level" }, t("row.level")),
    el("select", { id, name: id, class: "level-select" }, levelOptions(levels)),
  );
}

function explanationField(id) {
  const box = field(id, "row.explanation", { rows: 2, maxlength: 2000 }, "textarea");
  box.classList.add("wide");
  return box;
}

// --- picking an indicator from the catalogue -----------------------------------------------

const searchTimers = new Map();

function indicatorSearch(n) {
  const input = document.getElementById(`row-${n}-indicator`);
  clearTimeout(searchTimers.get(n));
  const q = input.value.trim();
  if (!q || state.picked.has(q)) return;
  searchTimers.set(
    n,
    setTimeout(async () => {
      try {
        const page = await api(`/v1/indicators?q=${encodeURIComponent(q)}&limit=20`);
        document.getElementById(`row-${n}-indicators`).replaceChildren(
          ...page.items.map((i) =>
            el("option", { value: i.code }, `${nameOf(i)}${i.unit ? ` (${i.unit})` : ""}`),
          ),
        );
      } catch {
        // the search is a help; the code can still be typed
      }
    }, 200),
  );
}

async function pickIndicator(n) {
  const input = document.getElementById(`row-${n}-indicator`);
  const code = input.value.trim();
  if (code === (input.dataset.picked || "")) return; // the same code again (a change on blur)
  input.dataset.picked = code;
  const offered = document.getElementById(`row-${n}-standards`);
  offered.replaceChildren();
  if (!code) return;
  try {
    const detail = await api(`/v1/indicators/${encodeURIComponent(code)}`);
    state.picked.set(code, detail);
    const ind = detail.indicator;
    const set = (f, v) => {
      const input = document.getElementById(`row-${n}-${f}`);
      if (input && v !== undefined && v !== null && v !== "") input.value = v;
    };
    set("name", ind.name_zh);
    set("unit", ind.unit);
    set("operator", ind.value_type === "qualitative" ? "定性" : OPERATORS.includes(ind.operator) ? ind.operator : undefined);
    const standards = detail.standards.filter((s) => s.value !== null && s.value !== undefined);
    if (!standards.length) {
      offered.append(el("span", { class: "muted" }, t("row.nostandards")));
      return;
    }
    offered.append(
      el("span", { class: "muted" }, `${t("row.standards")}：`),
      ...standards.map((s) =>
        el(
          "button",
          {
            type: "button",
            class: "secondary small use-standard",
            onclick: () => {
              set("target", s.value);
              set("unit", s.unit);
              if (OPERATORS.includes(s.operator)) set("operator", s.operator);
            },
          },
          `${word("stdtype", s.type)} ${standardValue(s)}（${s.region} · ${s.fiscal_year ?? "—"}）`,
        ),
      ),
    );
  } catch (error) {
    showError(offered, error);
  }
}

function rowFieldset(n) {
  const id = (f) => `row-${n}-${f}`;
  const indicator = field(id("indicator"), "row.indicator", {
    type: "search",
    list: id("indicators"),
    maxlength: 40,
    autocomplete: "off",
  });
  const input = indicator.querySelector("input");
  input.addEventListener("input", () => indicatorSearch(n));
  input.addEventListener("change", () => pickIndicator(n));
  indicator.append(el("datalist", { id: id("indicators") }));
  const box = el(
    "fieldset",
    { class: "score-row", "data-row": n },
    el("legend", {}, t("score.row", { n })),
    indicator,
    field(id("class_l1"), "class_l1", { list: "classes-l1", required: true }),
    field(id("class_l2"), "class_l2", { list: "classes-l2" }),
    field(id("name"), "row.name", { maxlength: 200 }),
    field(id("points"), "row.points", { type: "number", step: "any", min: 0, required: true }),
    el(
      "div",
      { class: "field" },
      el("label", { for: id("operator"), "data-i18n": "operator" }, t("operator")),
      el("select", { id: id("operator"), name: id("operator") }, OPERATORS.map((o) => el("option", { value: o }, o))),
    ),
    field(id("target"), "row.target", { type: "number", step: "any" }),
    field(id("unit"), "unit", { maxlength: 20 }),
    field(id("value"), "row.value", { type: "number", step: "any" }),
    levelSelect(id("level"), frameworkLevels()),
    el("p", { id: id("standards"), class: "standards-offered wide", "aria-live": "polite" }),
    explanationField(id("explanation")),
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

// --- the fixed leaves of a framework (PRJ-2020 …): one actual or level each ----------------

function fixedLeaves() {
  const fw = state.framework;
  if (!fw) return [];
  return fw.nodes.filter((n) => !n.open && !n.children.length && !(n.rule && n.rule.kind === "budget_execution"));
}

function fixedId(code, f) {
  return `fixed-${code.replace(/[^A-Za-z0-9_-]/g, "_")}-${f}`;
}

function fixedTarget(node) {
  const target = node.target === null || node.target === undefined ? "" : ` ${node.target}`;
  return `${node.points} ${t("receipt.points")}${target ? ` · ${t("row.target")}${target}` : ""} · ${word("rule", node.rule?.kind)}`;
}

function drawFixed() {
  const leaves = fixedLeaves();
  const target = document.getElementById("fixed");
  if (!leaves.length) {
    target.replaceChildren();
    target.hidden = true;
    return;
  }
  target.hidden = false;
  target.replaceChildren(
    el("h3", { "data-i18n": "score.fixed" }, t("score.fixed")),
    ...leaves.map((node) =>
      el(
        "fieldset",
        { class: "score-row fixed-leaf", "data-node": node.code },
        el("legend", {}, `${nameOf(node)}`),
        el("p", { class: "muted wide" }, fixedTarget(node)),
        node.rule && node.rule.kind === "qualitative"
          ? levelSelect(fixedId(node.code, "level"), node.rule.levels || frameworkLevels())
          : field(fixedId(node.code, "value"), "row.value", { type: "number", step: "any" }),
        // a leaf whose framework sets no target takes the project's own (指标值)
        node.rule && node.rule.kind !== "qualitative" && (node.target === null || node.target === undefined)
          ? field(fixedId(node.code, "target"), "row.target", { type: "number", step: "any" })
          : null,
        explanationField(fixedId(node.code, "explanation")),
      ),
    ),
  );
}

function readValues() {
  const values = {};
  for (const node of fixedLeaves()) {
    const one = {};
    const level = document.getElementById(fixedId(node.code, "level"));
    const value = document.getElementById(fixedId(node.code, "value"));
    const explanation = document.getElementById(fixedId(node.code, "explanation")).value.trim();
    if (level && level.value) one.level = level.value;
    if (value && value.value.trim() !== "") one.value = Number(value.value);
    const target = document.getElementById(fixedId(node.code, "target"));
    if (target && target.value.trim() !== "") one.target = Number(target.value);
    if (explanation) one.explanation = explanation;
    if (Object.keys(one).length) values[node.code] = one;
  }
  return values;
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
    for (const f of ["indicator", "class_l2", "name", "operator", "unit", "level", "explanation"]) if (row[f]) r[f] = row[f];
    for (const f of ["target", "value"]) if (row[f] !== undefined) r[f] = number(row[f]);
    if (r.operator === "定性") delete r.target;
    return r;
  });
  const values = readValues();
  if (Object.keys(values).length) body.values = values;
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
  const rows = hasOpenClasses() ? readRows() : [];
  const request = toRequest(rows);
  out.replaceChildren(el("p", {}, t("loading")));
  actions.replaceChildren();
  try {
    const receipt = await api("/v1/score", { method: "POST", body: request });
    // the download posts the rows as a CSV form, which has no place for a fixed leaf's value
    const csv = request.values ? null : new Blob([toCsv(request, rows)], { type: "text/csv" });
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

function hasOpenClasses() {
  return Boolean(state.framework && state.framework.nodes.some((n) => n.open));
}

async function loadFramework() {
  try {
    state.framework = await api(`/v1/frameworks/${encodeURIComponent(frameworkCode())}`);
    document.getElementById("class-lists").replaceChildren(...datalists());
    // rows are for the framework's open classes; a fixed framework has none
    const open = hasOpenClasses();
    document.getElementById("rows-area").hidden = !open;
    if (!open) document.getElementById("rows").replaceChildren(); // their required cells would block
    if (open && !document.querySelector("#rows fieldset")) addRow();
    for (const select of document.querySelectorAll("#rows .level-select")) select.replaceChildren(...levelOptions(frameworkLevels(), select.value));
    drawFixed();
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
    el(
      "div",
      { id: "rows-area" },
      el("div", { id: "rows" }),
      el("div", { id: "class-lists" }),
      el("button", { type: "button", id: "add-row", class: "secondary", onclick: () => addRow(), "data-i18n": "score.addrow" }, t("score.addrow")),
    ),
    el("div", { id: "fixed" }),
    el("div", { class: "row" }, el("button", { type: "submit", id: "score-go", "data-i18n": "score.go" }, t("score.go"))),
  );
  rowsForm.addEventListener("submit", scoreRows);
  main.append(
    common,
    el("section", { "aria-labelledby": "upload-h" }, el("h2", { id: "upload-h", "data-i18n": "score.upload" }, t("score.upload")), uploadForm),
    el("section", { "aria-labelledby": "rows-h" }, el("h2", { id: "rows-h", "data-i18n": "score.rows" }, t("score.rows")), rowsForm),
    actions,
    out,
  );
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
  // labels with data-i18n are translated by the frame; legends and choices are redrawn here
  for (const box of document.querySelectorAll("#rows fieldset")) {
    box.querySelector("legend").textContent = t("score.row", { n: box.dataset.row });
  }
  for (const select of document.querySelectorAll("#rows .level-select")) select.replaceChildren(...levelOptions(frameworkLevels(), select.value));
  if (state.framework) drawFixedKeepingValues();
});

/** Redraw the fixed leaves in the current language, keeping what was typed. */
function drawFixedKeepingValues() {
  const kept = [...document.querySelectorAll("#fixed input, #fixed select, #fixed textarea")].map((c) => [c.id, c.value]);
  drawFixed();
  for (const [id, value] of kept) {
    const control = document.getElementById(id);
    if (control) control.value = value;
  }
}
