// One indicator: its definition, its standards and its history across namespace versions.
import { api, el, fmt, nameOf, params, ruleText, showError, citation, standardValue, start, t, table, word } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "indicator", "aria-live": "polite" });
main.append(out);
const state = { detail: null, history: null };


function draw() {
  if (!state.detail) return;
  const ind = state.detail.indicator;
  const def = ind.definition || {};
  const rows = [
    ["code", ind.code],
    ["namespace", `${ind.namespace} ${ind.namespace_version}（${word("status", ind.namespace_status)}）`],
    ["class_l1", ind.class_l1 || "—"],
    ["class_l2", ind.class_l2 || "—"],
    ["value_type", word("vtype", ind.value_type)],
    ["operator", ind.operator || "—"],
    ["unit", ind.unit || "—"],
    ["rule", ruleText(ind.rule)],
    ["explanation", def.explanation || "—"],
    ["formula", typeof def.formula === "string" ? def.formula : def.formula ? String(def.formula.zh ?? def.formula.en ?? "—") : "—"],
    ["data_source", def.data_source || "—"],
    ["provenance", def.provenance || "—"],
  ];
  const lookup = `/ui/standards?indicator=${encodeURIComponent(ind.code)}`;
  out.replaceChildren(
    el("h2", { id: "indicator-name" }, `${nameOf(ind)} · ${ind.code}`),
    el("p", { class: "muted", lang: nameOf(ind) === ind.name_zh ? "en" : "zh-CN" }, lang2(ind)),
    el("dl", { class: "facts" }, rows.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v)])),
    el("p", {}, el("a", { href: lookup, id: "lookup-link" }, t("indicator.lookup"))),
    el("h2", {}, t("standards.heading")),
    state.detail.standards.length
      ? table(
          ["type", "value", "region", "fiscal_year", "derivation", "source"],
          state.detail.standards.map((s) => [
            word("stdtype", s.type),
            standardValue(s),
            s.region,
            fmt(s.fiscal_year),
            s.derivation || "—",
            citation(s),
          ]),
          { id: "standards-table" },
        )
      : el("p", {}, t("none")),
    el("h2", {}, t("history.versions")),
    state.history
      ? table(
          ["version", "status", "name", "unit", "operator"],
          state.history.map((h) => [
            h.version,
            word("status", h.status),
            h.indicator ? nameOf(h.indicator) : t("history.absent"),
            h.indicator ? h.indicator.unit || "—" : "—",
            h.indicator ? h.indicator.operator || "—" : "—",
          ]),
          { id: "history-table" },
        )
      : el("p", {}, t("loading")),
  );
}

function lang2(ind) {
  return nameOf(ind) === ind.name_zh ? ind.name_en || "" : ind.name_zh || "";
}

async function load() {
  const code = params().get("code");
  if (!code) {
    out.replaceChildren(el("p", {}, el("a", { href: "/ui/catalogue" }, t("nav.catalogue"))));
    return;
  }
  try {
    state.detail = await api(`/v1/indicators/${encodeURIComponent(code)}`);
    draw();
    const ns = await api(`/v1/namespaces/${encodeURIComponent(state.detail.indicator.namespace)}`);
    state.history = await Promise.all(
      ns.versions.map(async (v) => {
        try {
          const one = await api(
            `/v1/indicators/${encodeURIComponent(code)}?version=${encodeURIComponent(v.version)}`,
          );
          return { version: v.version, status: v.status, indicator: one.indicator };
        } catch {
          return { version: v.version, status: v.status, indicator: null };
        }
      }),
    );
    draw();
  } catch (error) {
    showError(out, error);
  }
}

let loaded = false;
start(() => {
  if (!loaded) {
    loaded = true;
    load();
  } else draw();
});
