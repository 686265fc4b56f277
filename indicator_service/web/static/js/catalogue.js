// Catalogue browser: search (Chinese or English), namespaces, their versions and indicator tree.
import { api, el, field, fmt, nameOf, params, showError, start, t, table, word } from "./common.js";

const main = document.getElementById("main");
const state = { namespaces: [], search: null, doc: null, frameworks: [], framework: null };

const searchOut = el("div", { id: "search-results", "aria-live": "polite" });
const treeOut = el("div", { id: "tree", "aria-live": "polite" });
const frameworkOut = el("div", { id: "framework-tree", "aria-live": "polite" });
const frameworkSelect = el("select", { id: "framework", name: "framework" });

function indicatorLink(code) {
  return el("a", { href: `/ui/indicator?code=${encodeURIComponent(code)}` }, code);
}

function drawSearch() {
  if (!state.search) return;
  const page = state.search;
  searchOut.replaceChildren(
    el("p", { class: "count" }, t("search.count", { n: page.total })),
    table(
      ["code", "name", "namespace", "class_l1", "class_l2", "unit"],
      page.items.map((i) => [
        indicatorLink(i.code),
        nameOf(i),
        i.namespace,
        i.class_l1 || "",
        i.class_l2 || "",
        i.unit || "",
      ]),
      { id: "search-table" },
    ),
  );
}

async function search(q) {
  searchOut.replaceChildren(el("p", {}, t("loading")));
  try {
    state.search = await api(`/v1/indicators?q=${encodeURIComponent(q)}&limit=100`);
    drawSearch();
  } catch (error) {
    showError(searchOut, error);
  }
}

function drawTree() {
  if (!state.doc) return;
  const doc = state.doc.document;
  const groups = new Map();
  for (const ind of doc.indicators) {
    const l1 = ind.class_l1 || t("tree.other");
    const l2 = ind.class_l2 || t("tree.other");
    if (!groups.has(l1)) groups.set(l1, new Map());
    const sub = groups.get(l1);
    if (!sub.has(l2)) sub.set(l2, []);
    sub.get(l2).push(ind);
  }
  const children = new Map();
  for (const ind of doc.indicators) {
    if (ind.parent) {
      if (!children.has(ind.parent)) children.set(ind.parent, []);
      children.get(ind.parent).push(ind);
    }
  }
  const item = (ind) => {
    const kids = children.get(ind.code) || [];
    return el(
      "li",
      {},
      indicatorLink(ind.code),
      " ",
      nameOf(ind),
      ind.unit ? el("span", { class: "muted" }, ` (${ind.operator || ""} ${ind.unit})`) : null,
      kids.length ? el("ul", {}, kids.map(item)) : null,
    );
  };
  const roots = (list) => list.filter((i) => !i.parent || !doc.indicators.some((p) => p.code === i.parent));
  treeOut.replaceChildren(
    el("h3", {}, `${nameOf(doc)} ${state.doc.version} · ${t("status")}：${word("status", state.doc.status)}`),
    el(
      "ul",
      { class: "tree" },
      [...groups].map(([l1, sub]) =>
        el(
          "li",
          {},
          el(
            "details",
            { open: true },
            el("summary", {}, `${l1} (${[...sub.values()].reduce((n, l) => n + l.length, 0)})`),
            el(
              "ul",
              {},
              [...sub].map(([l2, list]) =>
                el(
                  "li",
                  {},
                  el(
                    "details",
                    {},
                    el("summary", {}, `${l2} (${list.length})`),
                    el("ul", {}, roots(list).map(item)),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

async function loadVersion(ns, version) {
  treeOut.replaceChildren(el("p", {}, t("loading")));
  try {
    state.doc = await api(`/v1/namespaces/${encodeURIComponent(ns)}/versions/${encodeURIComponent(version)}`);
    drawTree();
  } catch (error) {
    showError(treeOut, error);
  }
}

function fillVersions(nsSelect, versionSelect) {
  const ns = state.namespaces.find((n) => n.code === nsSelect.value);
  versionSelect.replaceChildren(
    ...(ns ? ns.versions : []).map((v) =>
      el("option", { value: v.version, selected: v.version === ns.latest_published }, `${v.version}（${word("status", v.status)}）`),
    ),
  );
}

function drawNamespaceOptions(nsSelect) {
  const current = nsSelect.value;
  nsSelect.replaceChildren(
    ...state.namespaces.map((n) =>
      el("option", { value: n.code, selected: n.code === current }, `${nameOf(n)} (${n.code})`),
    ),
  );
}

function drawFramework() {
  if (!state.framework) return;
  const fw = state.framework;
  const byCode = new Map(fw.nodes.map((n) => [n.code, n]));
  const node = (n) => {
    const kids = n.children.map((c) => byCode.get(c)).filter(Boolean);
    const label = [
      el("strong", {}, nameOf(n)),
      ` ${n.points} ${t("receipt.points")}`,
      n.open ? el("span", { class: "muted" }, ` · ${t("framework.open")}`) : null,
      n.indicator ? [" · ", indicatorLink(n.indicator)] : null,
    ];
    return el(
      "li",
      { "data-node": n.code },
      kids.length ? el("details", { open: true }, el("summary", {}, label), el("ul", {}, kids.map(node))) : label,
    );
  };
  frameworkOut.replaceChildren(
    el("h3", {}, `${nameOf(fw)} ${fw.version} · ${t("status")}：${word("status", fw.status)}`),
    el("ul", { class: "tree" }, fw.nodes.filter((n) => !n.parent).map(node)),
    el(
      "p",
      { class: "muted" },
      fw.bands.map((b) => `${b.grade} [${b.min}, ${b.max}${b.max === 100 ? "]" : ")"}`).join(" · "),
    ),
  );
}

async function loadFramework(code) {
  frameworkOut.replaceChildren(el("p", {}, t("loading")));
  try {
    state.framework = await api(`/v1/frameworks/${encodeURIComponent(code)}`);
    drawFramework();
  } catch (error) {
    showError(frameworkOut, error);
  }
}

function drawFrameworkOptions() {
  const current = frameworkSelect.value;
  frameworkSelect.replaceChildren(
    ...state.frameworks.map((f) => el("option", { value: f.code, selected: f.code === current }, `${nameOf(f)} (${f.code})`)),
  );
}

let built = false;
const nsSelect = el("select", { id: "namespace", name: "namespace" });
const versionSelect = el("select", { id: "version", name: "version" });

async function build() {
  const q = params().get("q") || "";
  const qInput = field("q", "search.q", { type: "search", value: q, required: true, maxlength: 100 });
  const form = el(
    "form",
    { id: "search-form", role: "search", class: "row" },
    qInput,
    el("button", { type: "submit", "data-i18n": "search.go" }, t("search.go")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = form.querySelector("#q").value.trim();
    if (!value) return;
    history.replaceState(null, "", `?q=${encodeURIComponent(value)}`);
    search(value);
  });
  const browse = el(
    "form",
    { id: "browse-form", class: "row" },
    el("div", { class: "field" }, el("label", { for: "namespace", "data-i18n": "namespace" }, t("namespace")), nsSelect),
    el("div", { class: "field" }, el("label", { for: "version", "data-i18n": "version" }, t("version")), versionSelect),
  );
  nsSelect.addEventListener("change", () => {
    fillVersions(nsSelect, versionSelect);
    loadVersion(nsSelect.value, versionSelect.value);
  });
  versionSelect.addEventListener("change", () => loadVersion(nsSelect.value, versionSelect.value));
  main.append(
    el("section", { "aria-labelledby": "search-h" }, el("h2", { id: "search-h", "data-i18n": "search.heading" }, t("search.heading")), form, searchOut),
    el(
      "section",
      { "aria-labelledby": "browse-h" },
      el("h2", { id: "browse-h", "data-i18n": "browse.heading" }, t("browse.heading")),
      browse,
      el("div", { id: "namespaces" }),
      treeOut,
    ),
    el(
      "section",
      { "aria-labelledby": "frameworks-h" },
      el("h2", { id: "frameworks-h", "data-i18n": "frameworks.heading" }, t("frameworks.heading")),
      el("form", { id: "framework-form", class: "row" }, el("div", { class: "field" }, el("label", { for: "framework", "data-i18n": "framework" }, t("framework")), frameworkSelect)),
      frameworkOut,
    ),
  );
  frameworkSelect.addEventListener("change", () => loadFramework(frameworkSelect.value));
  api("/v1/frameworks")
    .then((list) => {
      state.frameworks = list.items;
      drawFrameworkOptions();
      if (state.frameworks.some((f) => f.code === "SELF-EVAL")) frameworkSelect.value = "SELF-EVAL";
      if (frameworkSelect.value) loadFramework(frameworkSelect.value);
    })
    .catch((error) => showError(frameworkOut, error));
  if (q) search(q);
  try {
    const list = await api("/v1/namespaces");
    state.namespaces = list.items;
    drawNamespaceOptions(nsSelect);
    const wanted = params().get("ns") || "common";
    if (state.namespaces.some((n) => n.code === wanted)) nsSelect.value = wanted;
    drawNamespaceTable();
    fillVersions(nsSelect, versionSelect);
    if (nsSelect.value) loadVersion(nsSelect.value, versionSelect.value);
  } catch (error) {
    showError(treeOut, error);
  }
}

function drawNamespaceTable() {
  const target = document.getElementById("namespaces");
  target.replaceChildren(
    table(
      ["namespace", "name", "owner", "version"],
      state.namespaces.map((n) => [
        el("a", { href: `/ui/catalogue?ns=${encodeURIComponent(n.code)}` }, n.code),
        nameOf(n),
        n.owner || "",
        fmt(n.latest_published),
      ]),
      { id: "namespace-table" },
    ),
  );
}

start(() => {
  if (!built) {
    built = true;
    build();
    return;
  }
  drawSearch();
  drawTree();
  drawNamespaceOptions(nsSelect);
  drawNamespaceTable();
  drawFrameworkOptions();
  drawFramework();
});
