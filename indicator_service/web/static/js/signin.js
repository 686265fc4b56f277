// Sign in with an API key: checked against the API, then kept in this tab's sessionStorage.
import { api, apiKey, el, field, setApiKey, start, t } from "./common.js";

const main = document.getElementById("main");
const status = el("p", { id: "signin-status", role: "status" });

function drawStatus() {
  const link = document.getElementById("signin-link");
  link.textContent = apiKey() ? t("signed.in") : t("signin");
  status.textContent = apiKey() ? t("signin.ok") : "";
}

function build() {
  const form = el(
    "form",
    { id: "signin-form", class: "row" },
    field("api-key", "signin.key", { type: "password", required: true, autocomplete: "off", spellcheck: "false" }),
    el("button", { type: "submit", "data-i18n": "signin.go" }, t("signin.go")),
    el("button", { type: "button", id: "signout", class: "secondary", "data-i18n": "signin.out" }, t("signin.out")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = form.querySelector("#api-key");
    const previous = apiKey();
    setApiKey(input.value.trim());
    try {
      // A key that is sent must be valid: any read answers 401 for an unknown or revoked key.
      await api("/v1/namespaces");
      input.value = "";
      drawStatus();
    } catch (error) {
      setApiKey(previous);
      drawStatus();
      status.textContent = `${t("signin.bad")} (${error.status || ""} ${error.message})`;
    }
  });
  form.querySelector("#signout").addEventListener("click", () => {
    setApiKey("");
    drawStatus();
  });
  main.append(el("p", { "data-i18n": "signin.hint" }, t("signin.hint")), form, status);
  drawStatus();
}

let built = false;
start(() => {
  if (!built) {
    built = true;
    build();
  } else drawStatus();
});
