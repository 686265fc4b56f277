// Shared by every page: labels in two languages, the API key, calls to the public API,
// small DOM helpers and the page frame (navigation, language toggle, sign-in state).
import { LABELS } from "./labels.js";

const LANG_KEY = "indicator.lang";
const API_KEY = "indicator.apiKey";

export function lang() {
  const stored = localStorage.getItem(LANG_KEY);
  return stored === "zh" || stored === "en" ? stored : "zh";
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value);
}

/** The label `key` in the current language (English, then the key, as fallbacks). */
export function t(key, vars = {}) {
  const entry = LABELS[key];
  let text = entry ? entry[lang()] ?? entry.en : key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

/** The words for an API code: `word("stdtype", "plan")` is 计划标准 (the code itself when no
 * label exists, so a new code is shown rather than hidden). */
export function word(group, code) {
  if (code === null || code === undefined || code === "") return "—";
  const key = `${group}.${code}`;
  return LABELS[key] ? t(key) : String(code);
}

/** A text the API sends in words: its `<field>_label` in the current language when the API gives
 * one (a string or a {zh, en} pair), else the field itself. */
export function said(obj, name) {
  if (!obj) return "";
  const label = obj[`${name}_label`];
  if (label && typeof label === "object") return label[lang()] ?? label.zh ?? label.en ?? "";
  if (typeof label === "string" && label) return label;
  const value = obj[name];
  if (value && typeof value === "object" && ("zh" in value || "en" in value)) return value[lang()] ?? value.zh;
  return value ?? "";
}

/** Name of a catalogue object in the current language. */
export function nameOf(obj) {
  if (!obj) return "";
  return (lang() === "zh" ? obj.name_zh || obj.name_en : obj.name_en || obj.name_zh) || obj.code || "";
}

export function apiKey() {
  return sessionStorage.getItem(API_KEY) || "";
}

export function setApiKey(value) {
  if (value) sessionStorage.setItem(API_KEY, value);
  else sessionStorage.removeItem(API_KEY);
}

/** An error carrying the RFC 9457 problem document the API answered with. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Call the public API; the key is sent whenever one is set. Returns parsed JSON, or the
 * Response itself when `raw` is true. */
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  // the API answers in the page's language (problem messages, labels)
  const all = { Accept: "application/json", "Accept-Language": lang() === "zh" ? "zh-CN" : "en", ...headers };
  const key = apiKey();
  if (key) all.Authorization = `Bearer ${key}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
    all["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers: all, body: payload });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem);
  }
  return raw ? response : response.json();
}

/** Create an element: el("a", {href: "/x", class: "c"}, "text", child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A labelled form field: <div class="field"><label for=id>…</label><input id=id …></div>. */
export function field(id, labelKey, input = {}, tag = "input") {
  const control = el(tag, { id, name: id, ...input });
  return el("div", { class: "field" }, el("label", { for: id, "data-i18n": labelKey }, t(labelKey)), control);
}

export function select(id, labelKey, options, attrs = {}) {
  const control = el(
    "select",
    { id, name: id, ...attrs },
    options.map(([value, text]) => el("option", { value }, text)),
  );
  return el("div", { class: "field" }, el("label", { for: id, "data-i18n": labelKey }, t(labelKey)), control);
}

export function table(headKeys, rows, attrs = {}) {
  return el(
    "div",
    // focusable, so that a table wider than a phone can be scrolled with the keyboard
    { class: "table-wrap", tabindex: "0" },
    el(
      "table",
      attrs,
      el("thead", {}, el("tr", {}, headKeys.map((k) => el("th", { scope: "col", "data-i18n": k }, t(k))))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))),
    ),
  );
}

/** Show an API error (problem document with its located errors) in `target`. */
export function showError(target, error) {
  target.replaceChildren();
  const box = el("div", { class: "error", role: "alert" });
  if (error instanceof ApiError) {
    box.append(el("p", { class: "error-title" }, `${t("error")} ${error.status}: ${error.message}`));
    const items = error.problem.errors || [];
    if (items.length)
      box.append(
        el(
          "ul",
          {},
          items.map((e) => el("li", {}, el("code", {}, (e.loc || []).join(".")), " — ", e.msg)),
        ),
      );
    if (error.status === 401 || error.status === 403)
      box.append(el("p", {}, el("a", { href: "/ui/signin" }, t("signin.needed"))));
  } else {
    box.append(el("p", { class: "error-title" }, `${t("error")}: ${error.message || error}`));
  }
  target.append(box);
}

export function fmt(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return String(Math.round(value * 10 ** digits) / 10 ** digits);
  return String(value);
}

/** Translate every [data-i18n] element below `root`. */
export function applyLabels(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]"))
    node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
}

const NAV = [
  "catalogue",
  "standards",
  "score",
  "history",
  "diff",
  "targets",
  "monitoring",
  "compare",
];

/** Build the frame of the page; `render` (re)draws the page's content in the current language. */
export function start(render) {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  const page = document.body.dataset.page;
  const nav = document.getElementById("nav");
  nav.replaceChildren(
    el(
      "ul",
      {},
      NAV.map((name) =>
        el(
          "li",
          {},
          el(
            "a",
            {
              href: `/ui/${name}`,
              "data-i18n": `nav.${name}`,
              "aria-current": name === page ? "page" : null,
            },
            t(`nav.${name}`),
          ),
        ),
      ),
    ),
  );
  const toggle = document.getElementById("lang");
  const signin = document.getElementById("signin-link");
  const frame = () => {
    document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
    toggle.textContent = lang() === "zh" ? "English" : "中文";
    toggle.setAttribute("lang", lang() === "zh" ? "en" : "zh-CN");
    toggle.setAttribute("title", t("lang.switch"));
    nav.setAttribute("aria-label", t("nav.label"));
    applyLabels();
    signin.textContent = apiKey() ? t("signed.in") : t("signin");
    document.title = `${t(`title.${page}`)} · indicator-service`;
  };
  toggle.addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    frame();
    render();
  });
  frame();
  render();
}

/** A button that prints the page (the print stylesheet keeps the content only). */
export function printButton() {
  return el("button", { type: "button", id: "print", class: "secondary", onclick: () => window.print() }, t("print"));
}

/** The query-string parameters of the page. */
export function params() {
  return new URLSearchParams(location.search);
}

/** Download a Blob under `name` (an object URL on a temporary link). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, class: "visually-hidden" }, name);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A scoring rule in words (never its JSON): the kind's words, and for a qualitative rule its
 * levels' names. */
export function ruleText(rule) {
  if (!rule) return "—";
  let text = word("rule", rule.kind);
  if (rule.kind === "qualitative" && Array.isArray(rule.levels))
    text += `（${rule.levels.map((l) => (lang() === "zh" ? l.name_zh : l.name_en) || l.code).join(" / ")}）`;
  return text;
}

/** A standard's value as text: operator, value and unit; a range; or the five levels. */
export function standardValue(s) {
  if (!s) return "—";
  if (s.value !== null && s.value !== undefined) return `${s.operator || ""} ${fmt(s.value)} ${s.unit || ""}`.trim();
  if (s.levels) return Object.entries(s.levels).map(([k, v]) => `${k} ${fmt(v)}`).join(" / ");
  if (s.min !== null || s.max !== null) return `${fmt(s.min)} – ${fmt(s.max)} ${s.unit || ""}`.trim();
  return "—";
}

/** A standard's source as one line: 《title》issuer 文号 (year) section; an illustrative value
 * says so first. A plain string (documents stored before citations) is shown as it is. */
export function citation(s) {
  const mark = s && s.illustrative ? `${t("illustrative")} · ` : "";
  const c = s && s.source;
  if (!c) return mark ? mark.slice(0, -3) : "—";
  if (typeof c === "string") return mark + c;
  const who = [c.issuer, c.doc_number].filter(Boolean).join(" ");
  const year = c.year ? `（${c.year}）` : "";
  return `${mark}《${c.title}》${who}${year}${c.section ? ` ${c.section}` : ""}`;
}
