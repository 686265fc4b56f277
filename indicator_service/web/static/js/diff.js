// Differences between two versions of a namespace or framework, and the bump they require. The
// namespace or framework and both versions are chosen from lists; each change names its
// indicator (or node) and shows the old and new values.
import { api, el, fmt, lang, nameOf, params, ruleText, said, showError, start, t, table, word } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "diff", "aria-live": "polite" });
const lists = { namespace: [], framework: [] };
let result = null;
let names = new Map(); // indicator or node code → {name_zh, name_en}

const CODE = /[A-Z][A-Z0-9]*-\d{2}-\d{3}/;

function nameFor(key) {
  const exact = names.get(key) || names.get((key.match(CODE) || [])[0]);
  return exact ? nameOf(exact) : "";
}

function value(field, v) {
  if (v === null || v === undefined || v === "") return "—";
  if (field === "rule" && typeof v === "object") return ruleText(v);
  if (field === "type" || field === "standard_type") return word("stdtype", v);
  if (field === "status") return word("status", v);
  if (field === "value_type") return word("vtype", v);
  if (typeof v === "number") return fmt(v);
  if (typeof v === "string") return v;
  if (typeof v === "object" && ("zh" in v || "en" in v)) return v[lang()] ?? v.zh;
  if (typeof v === "object" && v.title) return `《${v.title}》${[v.issuer, v.doc_number, v.year].filter(Boolean).join(" ")}`;
  if (Array.isArray(v)) return v.map((x) => value(field, x)).join("、");
  return Object.entries(v)
    .map(([k, x]) => `${word("field", k)}：${value(k, x)}`)
    .join("；");
}

const HAN = /[\u4e00-\u9fff]/;

/** The API's reason in the page's language (`reason_label`, asked in the page's language); in
 * Chinese, when the API sent English only (an older server), what the bump means and the fields
 * it comes from. */
function reasonOf(c) {
  const text = said(c, "reason");
  if (lang() !== "zh" || HAN.test(text)) return text;
  const fields = (c.fields || []).map((f) => word("field", f.field)).join("、");
  return `${t(`bumpwhy.${c.bump}`)}${fields ? `（${fields}）` : ""}`;
}

function fieldsCell(change) {
  const items = change.fields || [];
  if (!items.length) return "—";
  return el(
    "ul",
    { class: "changes" },
    items.map((f) =>
      el(
        "li",
        {},
        el("span", { class: "field-name" }, word("field", f.field)),
        "：",
        el("del", {}, value(f.field, f.old)),
        " → ",
        el("ins", {}, value(f.field, f.new)),
      ),
    ),
  );
}

function draw() {
  if (!result) return;
  out.replaceChildren(
    el("p", { id: "diff-bump", class: "stat-line" }, t("diff.bump", { bump: word("bump", result.required_bump) })),
    result.changes.length
      ? table(
          ["change", "item", "name", "bump", "reason", "fields"],
          result.changes.map((c) => [
            `${word("entity", c.entity)} · ${word("op", c.op)}`,
            c.key,
            nameFor(c.key) || "—",
            word("bump", c.bump),
            reasonOf(c),
            fieldsCell(c),
          ]),
          { id: "diff-table" },
        )
      : el("p", { id: "diff-none" }, t("diff.nochanges")),
  );
}

async function loadNames(kind, code, versions) {
  names = new Map();
  for (const version of versions) {
    const path =
      kind === "framework"
        ? `/v1/frameworks/${encodeURIComponent(code)}/versions/${encodeURIComponent(version)}`
        : `/v1/namespaces/${encodeURIComponent(code)}/versions/${encodeURIComponent(version)}`;
    try {
      const doc = await api(path);
      const items = kind === "framework" ? doc.nodes || [] : (doc.document && doc.document.indicators) || [];
      for (const item of items) if (!names.has(item.code)) names.set(item.code, item);
    } catch {
      // names are a help: the codes are shown anyway
    }
  }
}

function control(id, labelKey) {
  return el(
    "div",
    { class: "field" },
    el("label", { for: id, "data-i18n": labelKey }, t(labelKey)),
    el("select", { id, name: id }),
  );
}

function fillCodes(form, wanted) {
  const kind = form.querySelector("#kind").value;
  const select = form.querySelector("#code");
  select.replaceChildren(
    ...lists[kind].map((x) => el("option", { value: x.code, selected: x.code === wanted }, `${nameOf(x)}（${x.code}）`)),
  );
}

function fillVersions(form, from, to) {
  const kind = form.querySelector("#kind").value;
  const item = lists[kind].find((x) => x.code === form.querySelector("#code").value);
  const versions = item ? item.versions.map((v) => v.version) : [];
  const options = (selected) =>
    versions.map((v) => el("option", { value: v, selected: v === selected }, v));
  // default: the two newest versions, older first
  form.querySelector("#from").replaceChildren(...options(from || versions[versions.length - 2] || versions[0]));
  form.querySelector("#to").replaceChildren(...options(to || versions[versions.length - 1]));
}

async function build() {
  const p = params();
  const kind = el(
    "select",
    { id: "kind", name: "kind" },
    el("option", { value: "namespace" }, t("diff.kind.namespace")),
    el("option", { value: "framework" }, t("diff.kind.framework")),
  );
  const form = el(
    "form",
    { id: "diff-form", class: "row" },
    el("div", { class: "field" }, el("label", { for: "kind", "data-i18n": "diff.kind" }, t("diff.kind")), kind),
    control("code", "diff.code"),
    control("from", "diff.from"),
    control("to", "diff.to"),
    el("button", { type: "submit", "data-i18n": "diff.go" }, t("diff.go")),
  );
  main.append(form, out);
  if (p.get("kind") === "framework") kind.value = "framework";
  const [namespaces, frameworks] = await Promise.all([api("/v1/namespaces"), api("/v1/frameworks")]).catch((error) => {
    showError(out, error);
    return [{ items: [] }, { items: [] }];
  });
  // versions oldest first (semantic order) for the lists
  const semver = (a, b) => a.version.split(".").map(Number).reduce((d, x, i) => d || x - Number(b.version.split(".")[i]), 0);
  for (const [k, page] of [["namespace", namespaces], ["framework", frameworks]])
    lists[k] = page.items.map((x) => ({ ...x, versions: [...x.versions].sort(semver) }));
  fillCodes(form, p.get("code"));
  fillVersions(form, p.get("from"), p.get("to"));
  kind.addEventListener("change", () => {
    fillCodes(form);
    fillVersions(form);
  });
  form.querySelector("#code").addEventListener("change", () => fillVersions(form));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = (id) => form.querySelector(`#${id}`).value;
    const q = new URLSearchParams({ kind: v("kind"), code: v("code"), from: v("from"), to: v("to") });
    history.replaceState(null, "", `?${q}`);
    const base = v("kind") === "framework" ? "/v1/frameworks" : "/v1/namespaces";
    out.replaceChildren(el("p", {}, t("loading")));
    try {
      result = await api(
        `${base}/${encodeURIComponent(v("code"))}/diff?from=${encodeURIComponent(v("from"))}&to=${encodeURIComponent(v("to"))}`,
      );
      await loadNames(v("kind"), v("code"), [v("to"), v("from")]);
      draw();
    } catch (error) {
      result = null;
      showError(out, error);
    }
  });
  if (p.get("code") && p.get("from") && p.get("to")) form.requestSubmit();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else {
    for (const option of document.querySelectorAll("#kind option")) option.textContent = t(`diff.kind.${option.value}`);
    const form = document.getElementById("diff-form");
    if (form && lists.namespace.length) fillCodes(form, form.querySelector("#code").value);
    // the API's words (reason_label) are in the language asked: ask again in the new language
    if (result && form) form.requestSubmit();
    else draw();
  }
});
