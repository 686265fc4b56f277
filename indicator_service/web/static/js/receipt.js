// A scoring receipt drawn as: grade summary, a chart of score against points per level-1 class,
// and the tree of nodes and leaves with the points earned and lost. The receipt's explanation
// (`explain`, docs/scoring.md) is shown Chinese first: its words come in both languages.
import { el, fmt, lang, t, word } from "./common.js";
import { barChart } from "./chart.js";

/** The receipt's own words ({zh, en}) in the page's language, Chinese when English is absent. */
export function say(words) {
  if (!words) return "";
  return (lang() === "en" ? words.en : words.zh) || words.zh || words.en || "";
}

// Labels of the explanation (this page's own; the receipt brings the sentences).
const LABELS = {
  formula: { zh: "算式", en: "Formula" },
  rule: { zh: "评分规则", en: "Rule" },
  origin: { zh: "目标来源", en: "Target from" },
  target: { zh: "目标值", en: "Target" },
  actual: { zh: "实际完成值", en: "Actual" },
  budget: { zh: "预算执行", en: "Budget execution" },
};
const label = (key) => say(LABELS[key]);

/** A leaf's explanation: target and actual, the formula, points lost, the rule, where the
 * target came from and the warnings as sentences (null for receipts stored without one). */
function leafExplain(leaf) {
  const x = leaf.explain;
  if (!x) return null;
  const line = (cls, key, text) =>
    text ? el("div", { class: cls }, el("span", { class: "muted" }, `${label(key)}：`), text) : null;
  const target = x.target && x.target.text ? x.target.text : null;
  return el(
    "div",
    { class: "leaf-explain" },
    el(
      "div",
      { class: "explain-values" },
      `${label("actual")} ${say(x.actual)}`,
      target ? ` · ${label("target")} ${target}` : null,
    ),
    line("explain-formula", "formula", x.formula ? say(x.formula) : null),
    x.lost && x.lost.points > 0 ? el("div", { class: "lost explain-lost" }, say(x.lost)) : null,
    line("explain-rule muted", "rule", say(x.rule)),
    x.target_origin && x.target_origin.kind !== "none"
      ? line("explain-origin muted", "origin", say(x.target_origin.text))
      : null,
    ...(x.warnings || []).map((w) =>
      el("div", { class: "warn explain-warning", "data-warning": w.code }, `⚠ ${say(w)}`),
    ),
  );
}

/** The receipt-level explanation: heading, budget line, total's formula, grade and consequence. */
function receiptExplain(receipt) {
  const x = receipt.explain;
  if (!x) return null;
  const line = (cls, key, words) =>
    words ? el("p", { class: cls }, key ? el("strong", {}, `${label(key)}：`) : null, say(words)) : null;
  return el(
    "div",
    { class: "receipt-explain" },
    el("p", { class: "explain-heading" }, say(x.heading)),
    line("explain-budget", "budget", x.budget),
    line("explain-total", null, x.total),
    line("explain-grade", null, x.grade),
  );
}

/** Level-1 classes of a receipt: its level-1 nodes and its top-level leaves. */
export function levelOne(receipt) {
  const items = receipt.nodes
    .filter((n) => n.level === 1)
    .map((n) => ({ label: n.name, points: n.applicable_points, score: n.subtotal }));
  for (const leaf of receipt.leaves.filter((l) => l.path.length === 0 && l.applicable))
    items.push({ label: leaf.name || leaf.id, points: leaf.points, score: leaf.score ?? 0 });
  return items;
}

/** Warning codes in words, in the page's language (receipts stored without an explanation; the
 * page's own words, so that the language toggle needs no new request). */
function warningWords(codes) {
  return codes.map((code) => word("warning", code)).join(lang() === "zh" ? "；" : "; ");
}

function leafItem(leaf) {
  const value = leaf.status === "not_applicable" ? "n/a" : leaf.level ?? fmt(leaf.raw_value);
  const described = leaf.explain
    ? `${say(leaf.explain.actual)}${leaf.explain.target.text ? " / " + leaf.explain.target.text : ""}`
    : `${value}${leaf.unit ? " " + leaf.unit : ""} / ${fmt(leaf.target)} · ${word("rule", leaf.rule.kind)}`;
  return el(
    "li",
    { class: "leaf", "data-leaf": leaf.id },
    el("span", { class: "leaf-name" }, leaf.name || leaf.id),
    " ",
    el("span", { class: "muted" }, described),
    " ",
    el("span", { class: "earned" }, `${t("receipt.earned")} ${fmt(leaf.score)}`),
    " / ",
    el("span", {}, `${t("receipt.points")} ${fmt(leaf.points)}`),
    leaf.lost ? el("span", { class: "lost" }, ` ${t("receipt.lost")} ${fmt(leaf.lost)}`) : null,
    leaf.warnings.length && !leaf.explain ? el("span", { class: "warn" }, ` ⚠ ${warningWords(leaf.warnings)}`) : null,
    leaf.explanation ? el("span", { class: "muted" }, ` (${leaf.explanation})`) : null,
    needsExplanation(leaf) ? el("span", { class: "warn explanation-missing" }, ` ${t("receipt.explanation_missing")}`) : null,
    leafExplain(leaf),
  );
}

/** A leaf that lost points (or has a warning asking for it) without 偏差原因分析及改进措施. */
export function needsExplanation(leaf) {
  return leaf.warnings.includes("explanation_missing");
}

/** The paragraph naming every row that needs an explanation (null when none does). */
function explanationsNeeded(receipt) {
  const names = receipt.leaves.filter(needsExplanation).map((leaf) => leaf.name || leaf.id);
  if (!names.length) return null;
  return el(
    "p",
    { class: "warn explanations-needed" },
    `${t("receipt.explanations_needed")}: `,
    ...names.flatMap((name, i) => [i ? "、" : "", el("strong", {}, name)]),
  );
}

function tree(receipt) {
  const key = (path) => path.join("/");
  const childNodes = new Map();
  for (const node of receipt.nodes) {
    const parent = key(node.path.slice(0, -1));
    if (!childNodes.has(parent)) childNodes.set(parent, []);
    childNodes.get(parent).push(node);
  }
  const leavesAt = new Map();
  for (const leaf of receipt.leaves) {
    const at = key(leaf.path);
    if (!leavesAt.has(at)) leavesAt.set(at, []);
    leavesAt.get(at).push(leaf);
  }
  const branch = (path) => {
    const here = key(path);
    return [
      ...(leavesAt.get(here) || []).map(leafItem),
      ...(childNodes.get(here) || []).map((node) => {
        const lost = Math.round((node.applicable_points - node.subtotal) * 100) / 100;
        return el(
          "li",
          { class: "node", "data-node": node.code },
          el(
            "details",
            { open: true },
            el(
              "summary",
              {},
              el("strong", {}, node.name),
              ` ${fmt(node.subtotal)} / ${fmt(node.applicable_points)}`,
              lost > 0 ? el("span", { class: "lost" }, ` ${t("receipt.lost")} ${fmt(lost)}`) : null,
            ),
            el("ul", {}, branch(node.path)),
          ),
        );
      }),
    ];
  };
  return el("ul", { class: "tree receipt-tree" }, branch([]));
}

/** The receipt's section; `title` names the submission when a form holds several. */
export function renderReceipt(receipt, title = "") {
  const grade = receipt.grade;
  const recommendation = grade ? (lang() === "zh" ? grade.recommendation_zh : grade.recommendation_en) : "";
  return el(
    "section",
    { class: "receipt", "aria-label": t("receipt.heading") },
    el("h2", {}, title ? `${t("receipt.heading")} · ${title}` : t("receipt.heading")),
    el(
      "p",
      { class: "muted" },
      t("receipt.versions", { code: receipt.framework.code, version: receipt.framework.version }),
    ),
    el(
      "div",
      { class: "summary" },
      el("div", { class: "stat" }, el("span", {}, t("receipt.total")), el("strong", { class: "total" }, fmt(receipt.total))),
      el(
        "div",
        { class: "stat" },
        el("span", {}, t("receipt.grade")),
        el("strong", { class: "grade" }, grade ? `${grade.grade} (${grade.name_en})` : "—"),
      ),
      el("div", { class: "stat wide" }, el("span", {}, t("receipt.recommendation")), el("strong", { class: "recommendation" }, recommendation || "—")),
    ),
    receiptExplain(receipt),
    receipt.warnings.length
      ? el(
          "p",
          { class: "warn receipt-warnings" },
          `${t("receipt.warnings")}: `,
          receipt.explain ? receipt.explain.warnings.map(say).join("；") : warningWords(receipt.warnings),
        )
      : null,
    explanationsNeeded(receipt),
    el("h3", {}, t("receipt.chart")),
    barChart(levelOne(receipt), { earned: t("receipt.earned"), points: t("receipt.points"), title: t("receipt.chart") }),
    el("h3", {}, t("receipt.tree")),
    tree(receipt),
  );
}
