// The console: model cards, a request form per endpoint, live charts, and (featureship
// console) training. Everything comes from the server's REST API; no task is named here.
import { ApiError, authHeaders, askForKey, call, hasKey, json } from "./api.js";
import { buildForm } from "./form.js";
import { lineChart, format } from "./charts.js";
import { renderResponse } from "./render.js";

const $ = (id) => document.getElementById(id);
const state = { models: new Map(), collect: null, drift: new Map(), liveTimer: null };

function node(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") el.textContent = v; else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

export function status(text) { $("status").textContent = text || ""; }

function describeError(error) {
  return error instanceof ApiError ? error.message : `The server could not be reached (${error.message}).`;
}

// ---- models --------------------------------------------------------------------------------
export async function loadModels(select) {
  const { models } = await json("/v1/models");
  const details = await Promise.all(models.map((m) => json(`/v1/models/${encodeURIComponent(m.name)}`)));
  state.models = new Map(details.map((d) => [d.name, d]));
  renderCards();
  fillModelSelect(select);
  status(models.length ? "" : "No model is served yet.");
  refreshDrift();
}

function headline(metrics) {
  return Object.entries(metrics || {}).filter(([, v]) => typeof v === "number").slice(0, 4);
}

function renderCards() {
  const cards = $("model-cards");
  cards.replaceChildren();
  cards.dataset.loaded = "true";
  if (!state.models.size) cards.append(node("p", { class: "muted", text: "No models yet." }));
  for (const m of state.models.values()) {
    const labels = m.labels.length > 6 ? `${m.labels.slice(0, 6).join(", ")} and ${m.labels.length - 6} more` : m.labels.join(", ");
    const list = node("dl", {},
      node("dt", { text: "task" }), node("dd", { text: m.task }),
      ...(m.labels.length ? [node("dt", { text: "labels" }), node("dd", { text: labels || "–" })] : []),
      ...headline(m.metrics).flatMap(([k, v]) => [node("dt", { text: k.replaceAll("_", " ") }), node("dd", { text: format(v) })]),
      node("dt", { text: "drift" }), node("dd", { "data-drift": m.name, text: m.drift_monitor ? "checking…" : "no monitor" }),
      node("dt", { text: "traffic" }), node("dd", { "data-traffic": m.name, text: "–" }));
    const report = node("button", { type: "button", class: "secondary", text: "Open report" });
    report.addEventListener("click", () => openReport(m));
    const tryIt = node("button", { type: "button", text: "Try it" });
    tryIt.addEventListener("click", () => { $("try-model").value = m.name; chooseModel(); $("try").scrollIntoView(); $("try-model").focus(); });
    cards.append(node("article", { class: "card", "data-model": m.name, "aria-label": `model ${m.name}` },
      node("h3", { text: m.name }), node("p", { class: "muted small", text: m.metrics_on ? `metrics on ${m.metrics_on}` : "" }),
      list, node("div", { class: "row" }, tryIt, report)));
  }
}

async function openReport(m) {
  // fetched with the key, then shown from a blob: a plain link could not carry the header
  const tab = window.open("", "_blank");
  try {
    const response = await call(m.report);
    if (!response.ok) throw new ApiError(response.status, (await response.json()).detail);
    const url = URL.createObjectURL(new Blob([await response.text()], { type: "text/html" }));
    if (tab) tab.location = url; else window.location = url;
  } catch (error) {
    if (tab) tab.close();
    status(`The report could not be opened: ${describeError(error)}`);
  }
}

async function refreshDrift() {
  for (const m of state.models.values()) {
    if (!m.drift_monitor) continue;
    try {
      const verdict = await json(`/v1/models/${encodeURIComponent(m.name)}/drift`);
      const series = state.drift.get(m.name) || [];
      series.push(typeof verdict.statistic === "number" ? verdict.statistic : null);
      state.drift.set(m.name, series.slice(-30));
      const cell = document.querySelector(`[data-drift="${CSS.escape(m.name)}"]`);
      if (cell) {
        cell.replaceChildren(node("span", { class: verdict.drift ? "badge bad" : "badge good",
          text: verdict.drift ? "drift" : (verdict.window ? "no drift" : "no traffic yet") }),
          node("span", { class: "muted small", text: ` ${verdict.window} recent inputs` }));
      }
    } catch { /* the card keeps its last verdict */ }
  }
}

// ---- try it --------------------------------------------------------------------------------
function fillModelSelect(select) {
  const models = $("try-model");
  const keep = select || models.value;
  models.replaceChildren(...[...state.models.keys()].map((n) => node("option", { value: n, text: n })));
  if (keep && state.models.has(keep)) models.value = keep;
  chooseModel();
}

function chooseModel() {
  const m = state.models.get($("try-model").value);
  const endpoints = $("try-endpoint");
  endpoints.replaceChildren(...(m ? m.endpoint_specs : []).map((e) => node("option", { value: e.name, text: e.name })));
  chooseEndpoint();
}

function currentSpec() {
  const m = state.models.get($("try-model").value);
  return m && m.endpoint_specs.find((e) => e.name === $("try-endpoint").value);
}

function chooseEndpoint() {
  const spec = currentSpec();
  $("try-summary").textContent = spec ? spec.summary : "";
  state.collect = spec ? buildForm(spec, $("try-fields")) : null;
  $("try-send").disabled = !spec;
  $("try-curl").textContent = "";
}

function curlFor(url, request) {
  const key = hasKey() ? " \\\n  -H 'Authorization: Bearer $FEATURESHIP_API_KEY'" : "";
  if (request.files) {
    const parts = request.files.map((f) => ` \\\n  -F 'files=@${f.name.replaceAll("'", "")}'`).join("");
    return `curl -X POST '${location.origin}${url}'${key}${parts}`;
  }
  const body = JSON.stringify(request.body).replaceAll("'", "'\\''");
  return `curl -X POST '${location.origin}${url}'${key} \\\n  -H 'Content-Type: application/json' \\\n  -d '${body}'`;
}

async function post(url, request) {
  const options = { method: "POST" };
  if (request.files) {
    const form = new FormData();
    for (const file of request.files) form.append("files", file, file.name);
    options.body = form;
  } else {
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify(request.body);
  }
  return json(url, options);
}

async function send(event) {
  event.preventDefault();
  const spec = currentSpec();
  if (!spec) return;
  const name = $("try-model").value;
  const request = state.collect();
  if (request.files && !request.files.length) { $("try-error").textContent = "Choose or drop at least one image."; return; }
  const url = `/v1/models/${encodeURIComponent(name)}/${spec.name}`;
  $("try-curl").textContent = curlFor(url, request);
  $("try-error").textContent = "";
  $("try-send").disabled = true;
  $("try-result").replaceChildren(node("p", { class: "muted", text: "Waiting for the model…" }));
  $("try-explanation").replaceChildren();
  try {
    const answer = await post(url, request);
    $("try-result").replaceChildren(renderResponse(answer));
    $("try-result").dataset.endpoint = spec.name;
    if (spec.explained_by) {
      $("try-explanation").replaceChildren(node("p", { class: "muted", text: "Explaining…" }));
      const why = await post(`/v1/models/${encodeURIComponent(name)}/${spec.explained_by}`, request);
      $("try-explanation").replaceChildren(renderResponse(why));
    } else {
      $("try-explanation").replaceChildren(node("p", { class: "muted", text: `The ${spec.name} endpoint has no explanation; try another endpoint.` }));
    }
  } catch (error) {
    $("try-error").textContent = describeError(error);
    $("try-result").replaceChildren();
    $("try-explanation").replaceChildren();
  } finally {
    $("try-send").disabled = false;
  }
}

// ---- live ----------------------------------------------------------------------------------
async function refreshLive() {
  if (document.hidden || !state.models.size) return;
  let live;
  try { live = await json("/v1/live?window=300&step=5"); } catch { return; }
  const charts = $("live-charts");
  charts.replaceChildren();
  for (const [name, m] of Object.entries(live.models)) {
    const traffic = document.querySelector(`[data-traffic="${CSS.escape(name)}"]`);
    if (traffic) traffic.textContent = `${format(m.requests_per_s)} req/s · p99 ${m.p99_ms === null ? "–" : format(m.p99_ms) + " ms"}`;
    const pick = (k) => m.points.map((p) => p[k]);
    const grid = node("div", { class: "charts" },
      lineChart("requests/s", [{ name: "now", color: "#1d5fd1", values: pick("requests_per_s") }], ""),
      lineChart("latency", [{ name: "p50", color: "#3b7be8", values: pick("p50_ms") }, { name: "p99", color: "#b42318", values: pick("p99_ms") }], "ms"),
      lineChart("batch size", [{ name: "mean", color: "#1b7f3b", values: pick("batch_size") }], ""),
      lineChart("drift statistic", [{ name: "now", color: "#8a5a00", values: state.drift.get(name) || [] }], ""));
    charts.append(node("h3", { text: name }), grid);
  }
}

// ---- start ---------------------------------------------------------------------------------
async function start() {
  $("try-model").addEventListener("change", chooseModel);
  $("try-endpoint").addEventListener("change", chooseEndpoint);
  $("try-form").addEventListener("submit", send);
  $("key-button").addEventListener("click", async () => {
    try { await askForKey("Enter the API key to use in this tab."); await loadModels(); } catch (error) { status(describeError(error)); }
  });
  const config = await (await fetch("/console/config.json")).json();
  $("key-button").hidden = !config.api_key_required;
  if (config.training) {
    $("train").hidden = false; $("nav-train").hidden = false;
    const { startTraining } = await import("./train.js");
    startTraining({ onModel: (name) => loadModels(name) });
  }
  try { await loadModels(); } catch (error) { status(describeError(error)); }
  setInterval(refreshLive, 2000);
  setInterval(refreshDrift, 10000);
  refreshLive();
}

start();
export { authHeaders };
