// A scoring receipt drawn as: grade summary, a chart of score against points per level-1 class,
// and the tree of nodes and leaves with the points earned and lost.
import { el, fmt, lang, t } from "./common.js";
import { barChart } from "./chart.js";

/** Level-1 classes of a receipt: its level-1 nodes and its top-level leaves. */
export function levelOne(receipt) {
  const items = receipt.nodes
    .filter((n) => n.level === 1)
    .map((n) => ({ label: n.name, points: n.applicable_points, score: n.subtotal }));
  for (const leaf of receipt.leaves.filter((l) => l.path.length === 0 && l.applicable))
    items.push({ label: leaf.name || leaf.id, points: leaf.points, score: leaf.score ?? 0 });
  return items;
}

function leafItem(leaf) {
  const value = leaf.status === "not_applicable" ? "n/a" : leaf.level ?? fmt(leaf.raw_value);
  return el(
    "li",
    { class: "leaf", "data-leaf": leaf.id },
    el("span", { class: "leaf-name" }, leaf.name || leaf.id),
    " ",
    el(
      "span",
      { class: "muted" },
      `${value}${leaf.unit ? " " + leaf.unit : ""} / ${fmt(leaf.target)} · ${leaf.rule.kind}`,
    ),
    " ",
    el("span", { class: "earned" }, `${t("receipt.earned")} ${fmt(leaf.score)}`),
    " / ",
    el("span", {}, `${t("receipt.points")} ${fmt(leaf.points)}`),
    leaf.lost ? el("span", { class: "lost" }, ` ${t("receipt.lost")} ${fmt(leaf.lost)}`) : null,
    leaf.warnings.length ? el("span", { class: "warn" }, ` ⚠ ${leaf.warnings.join(", ")}`) : null,
    leaf.explanation ? el("span", { class: "muted" }, ` (${leaf.explanation})`) : null,
    needsExplanation(leaf) ? el("span", { class: "warn explanation-missing" }, ` ${t("receipt.explanation_missing")}`) : null,
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
    receipt.warnings.length ? el("p", { class: "warn" }, `${t("receipt.warnings")}: ${receipt.warnings.join(", ")}`) : null,
    explanationsNeeded(receipt),
    el("h3", {}, t("receipt.chart")),
    barChart(levelOne(receipt), { earned: t("receipt.earned"), points: t("receipt.points"), title: t("receipt.chart") }),
    el("h3", {}, t("receipt.tree")),
    tree(receipt),
  );
}
