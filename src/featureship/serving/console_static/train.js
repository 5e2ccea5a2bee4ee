// The training panel (featureship console): upload data, choose the task and its columns from
// the data's own columns, start a run and follow it live. Tasks come from GET /v1/console/tasks.
import { ApiError, call, events, json } from "./api.js";
import { format } from "./charts.js";

const $ = (id) => document.getElementById(id);
const state = { tasks: [], upload: null };

function node(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") el.textContent = v; else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children);
  return el;
}

let uid = 0;
function labelled(text, control, hint) {
  control.id = `t${++uid}`;
  const wrap = node("div", { class: "field" }, node("label", { for: control.id, text }), control);
  if (hint) { const h = node("span", { class: "hint", id: `${control.id}-h`, text: hint }); control.setAttribute("aria-describedby", h.id); wrap.append(h); }
  return wrap;
}

function guess(setting, columns, used) {
  const stem = setting.replace(/_columns?$/, "");
  const synonyms = { label: ["label", "category", "target", "intent", "class", "y"], text: ["text", "message", "query", "question"],
    user: ["user", "user_id", "userid"], item: ["item", "item_id", "movie", "product"], time: ["time", "timestamp", "ts", "date"],
    rating: ["rating", "score"], id: ["id"], answer: ["answer", "reply"], title: ["title", "name"], image: ["image", "path", "file"] };
  for (const name of synonyms[stem] || [stem]) {
    const hit = columns.find((c) => c.toLowerCase() === name);
    if (hit && !used.has(hit)) return hit;
  }
  return null;
}

async function uploadFiles(files, relative) {
  const form = new FormData();
  for (const file of files) form.append("files", file, relative ? file.webkitRelativePath || file.name : file.name);
  $("train-data").textContent = `Uploading ${files.length} file(s)…`;
  return json("/v1/console/uploads", { method: "POST", body: form });
}

function showUpload(upload) {
  state.upload = upload;
  const what = upload.kind === "folder"
    ? `Folder '${upload.name}': ${upload.rows} image(s) in ${upload.classes.length} class folder(s) (${upload.classes.slice(0, 8).join(", ")}).`
    : `Table '${upload.name}': ${upload.rows.toLocaleString()} rows; columns ${upload.columns.join(", ")}.`;
  $("train-data").textContent = what;
  renderTask();
}

function renderTask() {
  const task = state.tasks.find((t) => t.task === $("train-task").value);
  const columns = $("train-columns"), options = $("train-options");
  columns.replaceChildren(); options.replaceChildren();
  if (!task) return;
  const upload = state.upload;
  if (upload && upload.kind === "folder") {
    columns.append(node("p", { class: "hint", text: task.reads_folders
      ? "A folder: each sub-folder is a class, so there are no columns to choose."
      : `${task.task} trains on a table, not a folder; upload a table.` }));
  } else {
    const names = upload ? upload.columns : [];
    const used = new Set();
    const row = node("div", { class: "row" });
    for (const c of task.columns) {
      const select = node("select", { "data-setting": c.setting, multiple: c.multiple, size: c.multiple ? Math.min(5, names.length || 1) : undefined });
      if (!c.required && !c.multiple) select.append(node("option", { value: "", text: "— (none)" }));
      for (const name of names) select.append(node("option", { value: name, text: name }));
      const pick = c.multiple ? null : guess(c.setting, names, used) || (c.required ? names.find((n) => !used.has(n)) : null);
      if (pick) { select.value = pick; used.add(pick); } else if (!c.multiple) select.value = "";
      row.append(labelled(`${c.title}${c.required ? " (required)" : ""}`, select, c.description || (c.multiple ? "Ctrl/Cmd-click to choose several." : "")));
    }
    columns.append(row);
  }
  const grid = node("div", { class: "row" });
  for (const o of task.options) {
    let control;
    if (o.enum) {
      control = node("select", { "data-setting": o.setting, "data-default": String(o.default) });
      for (const v of o.enum) control.append(node("option", { value: v, text: v }));
      control.value = o.default;
    } else if (o.type === "boolean") {
      control = node("input", { type: "checkbox", "data-setting": o.setting, "data-default": String(o.default) });
      control.checked = Boolean(o.default);
    } else {
      control = node("input", { type: "number", step: o.type === "integer" ? "1" : "any", "data-setting": o.setting, "data-default": o.default === null ? "" : String(o.default) });
      control.value = o.default === null ? "" : o.default;
    }
    grid.append(labelled(o.title, control, o.description));
  }
  options.append(grid);
  // the choices that matter most (the model family) come out of "More options"
  for (const o of task.options.filter((x) => x.enum && ["mode", "model", "problem"].includes(x.setting))) {
    const control = options.querySelector(`[data-setting="${o.setting}"]`);
    columns.append(control.closest(".field"));
  }
}

function settings() {
  const out = {};
  for (const el of $("train-form").querySelectorAll("[data-setting]")) {
    const key = el.dataset.setting;
    if (el.multiple) { const chosen = [...el.selectedOptions].map((o) => o.value); if (chosen.length) out[key] = chosen; continue; }
    if (el.type === "checkbox") { if (String(el.checked) !== el.dataset.default) out[key] = el.checked; continue; }
    if (el.dataset.default !== undefined) {
      if (el.value === el.dataset.default || el.value === "") continue;
      out[key] = el.type === "number" ? Number(el.value) : el.value;
      continue;
    }
    if (el.value !== "") out[key] = el.value;
  }
  return out;
}

function runCard(run) {
  const bar = node("progress", { class: "progress", max: "1", value: "0", "aria-label": `progress of ${run.name}` });
  const step = node("p", { text: "Starting…" });
  const log = node("ul", {});
  const result = node("div", {});
  const card = node("article", { class: "run", "data-run": run.id, "aria-label": `training run ${run.name}` },
    node("h3", { text: `${run.name} (${run.task})` }), step, bar, log, result);
  $("train-runs").prepend(card);
  return { card, bar, step, log, result };
}

async function follow(run, view, onModel) {
  const say = (text) => view.log.append(node("li", { text }));
  try {
    await events(`/v1/console/runs/${run.id}/events`, (e) => {
      if (e.type === "step") { view.step.textContent = e.description; view.bar.removeAttribute("value"); }
      if (e.type === "progress") {
        view.step.textContent = e.description;
        if (e.total) { view.bar.max = e.total; view.bar.value = e.completed; } else if (e.finished) { view.bar.max = 1; view.bar.value = 1; }
      }
      if (e.type === "note" || e.type === "info") say(e.message);
      if (e.type === "metrics") say(`step ${e.step}: ${Object.entries(e.row).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k} ${format(v)}`).join(", ")}`);
      if (e.type === "trained") say(`trained: ${e.chosen || "model"}; ${Object.entries(e.metrics || {}).filter(([, v]) => typeof v === "number").slice(0, 3).map(([k, v]) => `${k} ${format(v)}`).join(", ")}`);
      if (e.type === "failed") {
        view.step.textContent = "Failed";
        view.result.replaceChildren(node("div", { class: "error", role: "alert", text: e.message }));
      }
      if (e.type === "served") {
        view.step.textContent = "Finished: the model is served.";
        view.bar.max = 1; view.bar.value = 1;
        const tryIt = node("button", { type: "button", text: `Try ${e.model}` });
        tryIt.addEventListener("click", () => { $("try-model").value = e.model; $("try-model").dispatchEvent(new Event("change")); $("try").scrollIntoView(); $("try-model").focus(); });
        view.result.replaceChildren(node("p", { class: "badge good", "data-served": e.model, text: `${e.model} is served at /v1/models/${e.model}` }), " ", tryIt,
          node("p", { class: "hint", text: `To serve it elsewhere: featureship serve ${e.bundle}` }));
        onModel(e.model);
      }
    });
  } catch (error) {
    view.result.replaceChildren(node("div", { class: "error", role: "alert", text: `Lost the run's progress: ${error.message}` }));
  }
}

export async function startTraining({ onModel }) {
  try {
    state.tasks = await json("/v1/console/tasks");
    const sets = await json("/v1/console/datasets");
    $("train-task").replaceChildren(...state.tasks.map((t) => node("option", { value: t.task, text: t.task })));
    $("train-demo").append(...sets.map((s) => node("option", { value: s.name, text: s.name })));
  } catch (error) { $("train-error").textContent = error.message; return; }
  renderTask();
  // runs started before this page was opened (or before a reload): shown, and followed
  try {
    for (const run of await json("/v1/console/runs")) follow(run, runCard(run), onModel);
  } catch { /* the panel still works for new runs */ }
  const failed = (error) => { $("train-error").textContent = error instanceof ApiError ? error.message : `The server could not be reached (${error.message}).`; $("train-data").textContent = "No data chosen yet."; };
  $("train-task").addEventListener("change", renderTask);
  $("train-file").addEventListener("change", async (e) => {
    $("train-error").textContent = "";
    if (e.target.files.length) try { showUpload(await uploadFiles(e.target.files, false)); } catch (error) { failed(error); }
  });
  $("train-folder").addEventListener("change", async (e) => {
    $("train-error").textContent = "";
    if (e.target.files.length) try { showUpload(await uploadFiles(e.target.files, true)); } catch (error) { failed(error); }
  });
  $("train-demo").addEventListener("change", async (e) => {
    $("train-error").textContent = "";
    if (e.target.value) try { showUpload(await json(`/v1/console/uploads/bundled/${encodeURIComponent(e.target.value)}`, { method: "POST" })); } catch (error) { failed(error); }
  });
  $("train-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("train-error").textContent = "";
    if (!state.upload) { $("train-error").textContent = "Choose the data first: upload a table or a folder, or pick a bundled data set."; return; }
    const body = { task: $("train-task").value, name: $("train-name").value.trim(), data: state.upload.id, settings: settings() };
    try {
      const run = await json("/v1/console/runs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      follow(run, runCard(run), onModel);
    } catch (error) { failed(error); }
  });
}
export { call };
