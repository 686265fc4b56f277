// Evaluation history (stored evaluations the key may read; evaluator keys): find projects by a
// part of their code or name, a project's evaluations by fiscal year (chart and table), and one
// stored evaluation's receipt.
import { api, el, field, fmt, lang, params, printButton, showError, start, t, table } from "./common.js";
import { yearChart } from "./chart.js";
import { renderReceipt } from "./receipt.js";

const main = document.getElementById("main");
const out = el("div", { id: "history", "aria-live": "polite" });
// what is shown: {kind: "projects" | "project" | "evaluation", …}
let shown = null;

function when(iso) {
  return new Date(iso).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB");
}

function receiptLink(e) {
  return el("a", { href: `/ui/history?evaluation=${e.id}`, class: "receipt-link" }, t("history.open", { id: e.id }));
}

function projectLink(code) {
  return el("a", { href: `/ui/history?project=${encodeURIComponent(code)}`, class: "project-link" }, code);
}

function drawProjects(items) {
  // one line per project: code, name, how many evaluations, the years
  const projects = new Map();
  for (const e of items) {
    const code = e.project ?? "—";
    if (!projects.has(code)) projects.set(code, { code, name: null, list: [] });
    const p = projects.get(code);
    p.name = p.name || e.project_name;
    p.list.push(e);
  }
  out.replaceChildren(
    el("h2", {}, t("history.projects", { n: projects.size })),
    table(
      ["history.project", "history.name", "history.count", "history.years"],
      [...projects.values()].map((p) => [
        p.code === "—" ? "—" : projectLink(p.code),
        p.name || "—",
        String(p.list.length),
        [...new Set(p.list.map((e) => e.fiscal_year ?? "—"))].sort().join("、"),
      ]),
      { id: "projects-table" },
    ),
  );
}

function drawProject(items) {
  const sorted = [...items].sort(
    (a, b) => (a.fiscal_year ?? 0) - (b.fiscal_year ?? 0) || a.created_at.localeCompare(b.created_at),
  );
  // One bar per fiscal year: its latest evaluation.
  const latest = new Map();
  for (const item of sorted) latest.set(item.fiscal_year ?? "—", item);
  const name = sorted.map((e) => e.project_name).find(Boolean);
  out.replaceChildren(
    el("h2", { id: "project-heading" }, [sorted[0].project, name].filter(Boolean).join(" · ")),
    el("h3", {}, t("history.chart")),
    yearChart(
      [...latest].map(([year, item]) => ({ label: String(year), value: item.total })),
      t("history.chart"),
    ),
    table(
      ["fiscal_year", "framework", "total", "grade", "region", "created_at", "history.receipt"],
      sorted.map((e) => [
        fmt(e.fiscal_year),
        `${e.framework} ${e.version}`,
        fmt(e.total),
        e.grade || "—",
        e.region,
        when(e.created_at),
        receiptLink(e),
      ]),
      { id: "history-table" },
    ),
  );
}

function drawEvaluation(ev) {
  out.replaceChildren(
    el(
      "p",
      { class: "no-print row" },
      printButton(),
      ev.project ? el("a", { href: `/ui/history?project=${encodeURIComponent(ev.project)}`, id: "back-to-project" }, t("history.back", { project: ev.project })) : null,
    ),
    el("p", { class: "muted", id: "evaluation-meta" }, t("history.stored", { id: ev.id, when: when(ev.created_at) })),
    renderReceipt(ev.result, [ev.project, ev.project_name, ev.fiscal_year].filter(Boolean).join(" · ")),
  );
}

function draw() {
  if (!shown) return;
  if (shown.kind === "evaluation") drawEvaluation(shown.evaluation);
  else if (!shown.items.length) out.replaceChildren(el("p", { id: "history-empty" }, t("history.empty")));
  else if (shown.kind === "project") drawProject(shown.items);
  else drawProjects(shown.items);
}

async function show(load) {
  out.replaceChildren(el("p", {}, t("loading")));
  try {
    shown = await load();
    draw();
  } catch (error) {
    shown = null;
    showError(out, error);
  }
}

async function find(q) {
  const page = await api(`/v1/evaluations?q=${encodeURIComponent(q)}&limit=500`);
  const codes = new Set(page.items.map((e) => e.project));
  // a search that finds one project shows its history at once
  return { kind: codes.size === 1 ? "project" : "projects", items: page.items };
}

function build() {
  const p = params();
  const form = el(
    "form",
    { id: "history-form", class: "row", role: "search" },
    field("q", "history.q", { type: "search", required: true, maxlength: 80, value: p.get("q") || p.get("project") || "" }),
    el("button", { type: "submit", "data-i18n": "history.go" }, t("history.go")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = form.querySelector("#q").value.trim();
    history.replaceState(null, "", `?q=${encodeURIComponent(q)}`);
    show(() => find(q));
  });
  main.append(form, out);
  if (p.get("evaluation")) {
    const id = p.get("evaluation");
    show(async () => ({ kind: "evaluation", evaluation: await api(`/v1/evaluations/${encodeURIComponent(id)}`) }));
  } else if (p.get("project")) {
    const project = p.get("project");
    show(async () => ({
      kind: "project",
      items: (await api(`/v1/evaluations?project=${encodeURIComponent(project)}&limit=500`)).items,
    }));
  } else if (p.get("q")) form.requestSubmit();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else draw();
});
