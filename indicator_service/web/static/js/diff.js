// Differences between two versions of a namespace or framework, and the bump they require.
import { api, el, field, params, said, select, showError, start, t, table, word } from "./common.js";

const main = document.getElementById("main");
const out = el("div", { id: "diff", "aria-live": "polite" });
let result = null;

function describe(change) {
  return (change.fields || [])
    .map((f) => `${f.field}: ${JSON.stringify(f.old)} → ${JSON.stringify(f.new)}`)
    .join("; ");
}

function draw() {
  if (!result) return;
  out.replaceChildren(
    el("p", { id: "diff-bump", class: "stat-line" }, t("diff.bump", { bump: word("bump", result.required_bump) })),
    result.changes.length
      ? table(
          ["change", "item", "bump", "reason", "fields"],
          result.changes.map((c) => [`${word("entity", c.entity)} · ${word("op", c.op)}`, c.key, word("bump", c.bump), said(c, "reason"), describe(c)]),
          { id: "diff-table" },
        )
      : el("p", { id: "diff-none" }, t("diff.nochanges")),
  );
}

function build() {
  const p = params();
  const form = el(
    "form",
    { id: "diff-form", class: "row" },
    select("kind", "diff.kind", [
      ["namespace", t("diff.kind.namespace")],
      ["framework", t("diff.kind.framework")],
    ]),
    field("code", "diff.code", { required: true, maxlength: 40, value: p.get("code") || "" }),
    field("from", "diff.from", { required: true, maxlength: 40, value: p.get("from") || "" }),
    field("to", "diff.to", { required: true, maxlength: 40, value: p.get("to") || "" }),
    el("button", { type: "submit", "data-i18n": "diff.go" }, t("diff.go")),
  );
  if (p.get("kind") === "framework") form.querySelector("#kind").value = "framework";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = (id) => form.querySelector(`#${id}`).value.trim();
    const q = new URLSearchParams({ kind: v("kind"), code: v("code"), from: v("from"), to: v("to") });
    history.replaceState(null, "", `?${q}`);
    const base = v("kind") === "framework" ? "/v1/frameworks" : "/v1/namespaces";
    out.replaceChildren(el("p", {}, t("loading")));
    try {
      result = await api(
        `${base}/${encodeURIComponent(v("code"))}/diff?from=${encodeURIComponent(v("from"))}&to=${encodeURIComponent(v("to"))}`,
      );
      draw();
    } catch (error) {
      result = null;
      showError(out, error);
    }
  });
  main.append(form, out);
  if (p.get("code") && p.get("from") && p.get("to")) form.requestSubmit();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else {
    for (const option of document.querySelectorAll("#kind option")) option.textContent = t(`diff.kind.${option.value}`);
    draw();
  }
});
