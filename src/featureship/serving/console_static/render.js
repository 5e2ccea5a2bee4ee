// Answers and explanations drawn from the shapes of the JSON (no task is named here):
// `scores` → ranked bars; lists of {…, score} → ranked bars; {token, weight} lists → shaded words;
// `saliency_png_base64` → the overlay image; {column, contribution} → signed bars.
import { format } from "./charts.js";

function node(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") el.textContent = v; else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

const isObject = (v) => v && typeof v === "object" && !Array.isArray(v);
const NAME_KEYS = ["title", "answer", "label", "item", "column", "id", "prediction", "token"];
const nameOf = (o) => { const k = NAME_KEYS.find((key) => o[key] !== undefined && o[key] !== null); return k ? String(o[k]) : "?"; };
const score3 = (v) => (typeof v === "number" ? v.toFixed(3) : String(v));

function bars(rows, { signed = false } = {}) {
  // rows: [{name, value, sub?, extra?}]; widths relative to the largest |value|
  const max = Math.max(1e-12, ...rows.map((r) => Math.abs(r.value)));
  const list = node("ol", { class: "bars" });
  for (const r of rows) {
    const fill = node("div", { class: r.value < 0 ? "fill neg" : "fill" });
    fill.style.width = `${Math.max(1, (Math.abs(r.value) / (signed ? max : Math.max(1, max))) * 100)}%`;
    const name = node("span", { class: "name", text: r.name });
    if (r.sub) name.append(node("span", { class: "muted", text: ` (${r.sub})` }));
    const li = node("li", { "data-name": r.name, "data-value": String(r.value) }, name,
      node("div", { class: "track", "aria-hidden": "true" }, fill),
      node("span", { class: "value", text: signed ? (r.value >= 0 ? "+" : "") + format(r.value) : score3(r.value) }));
    if (r.extra) li.append(r.extra);
    list.append(li);
  }
  return list;
}

function shadedWords(attributions, label) {
  const max = Math.max(1e-12, ...attributions.map((a) => Math.abs(a.weight)));
  const p = node("p", { class: "words" });
  if (label) p.append(node("span", { class: "muted", text: `${label}: ` }));
  for (const a of attributions) {
    const alpha = (Math.abs(a.weight) / max) * 0.5; // at most half: dark text keeps its contrast
    const span = node("span", { title: `weight ${a.weight.toFixed(4)}`, "data-weight": String(a.weight), text: a.token });
    span.style.background = a.weight >= 0 ? `rgba(27,127,59,${alpha})` : `rgba(180,35,24,${alpha})`;
    p.append(span, " ");
  }
  return p;
}

// A ranked list: entries with a score and nothing richer to draw than their `because` reasons.
function isScoredList(value) {
  const plain = (v) => Object.entries(v).every(([k, x]) => k === "because" || (typeof x !== "object" && !k.endsWith("base64")) || x === null);
  return Array.isArray(value) && value.length > 0 && value.every((v) => isObject(v) && typeof v.score === "number" && plain(v));
}

function scoredBars(list) {
  return bars(list.map((o) => ({
    name: nameOf(o), value: o.score,
    sub: o.title && o.item !== undefined ? `item ${o.item}` : (o.handoff ? "hand off to a person" : undefined),
    extra: Array.isArray(o.because) && o.because.length
      ? node("div", { class: "because", text: `because of: ${o.because.map((b) => `${b.title || b.item} (+${format(b.weight)})`).join(", ")}` })
      : undefined,
  })));
}

function renderObject(o, heading) {
  const box = node("div", { class: "entry" });
  const head = node("p", {});
  if (heading) head.append(node("strong", { text: heading }), " ");
  const main = o.label ?? o.prediction;
  if (main !== undefined) head.append(node("span", { class: "badge", "data-answer": String(main), text: String(main) }));
  if (typeof o.score === "number") head.append(" ", node("span", { class: "muted", text: `score ${score3(o.score)}` }));
  for (const [k, v] of Object.entries(o)) {
    if (["label", "prediction", "score", "title"].includes(k) || typeof v === "object" || k.endsWith("base64")) continue;
    if (typeof v === "string" && v.length > 120) continue;
    head.append(node("span", { class: "muted small", text: ` · ${k.replaceAll("_", " ")}: ${typeof v === "number" ? format(v) : v}` }));
  }
  box.append(head);
  if (o.answer !== undefined && typeof o.answer === "string") box.append(node("p", { text: o.answer }));
  if (isObject(o.scores)) {
    const rows = Object.entries(o.scores).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, value]) => ({ name, value }));
    box.append(bars(rows));
  }
  if (typeof o.saliency_png_base64 === "string") {
    box.append(node("img", { class: "saliency", src: `data:image/png;base64,${o.saliency_png_base64}`,
      alt: `Saliency map for ${main ?? "the image"}: brighter regions pushed the score up` }));
  }
  if (Array.isArray(o.attributions)) box.append(shadedWords(o.attributions, o.matched_attributions ? "message" : null));
  if (Array.isArray(o.matched_attributions)) box.append(shadedWords(o.matched_attributions, o.matched_kind || "matched"));
  if (Array.isArray(o.contributions)) {
    box.append(bars(o.contributions.slice(0, 12).map((c) => ({ name: c.column, value: c.contribution,
      sub: c.value === null || c.value === undefined ? "missing" : `= ${c.value}` })), { signed: true }));
  }
  for (const [k, v] of Object.entries(o)) {
    if (["attributions", "matched_attributions", "contributions", "because"].includes(k)) continue;
    if (isScoredList(v)) box.append(node("h4", { class: "small", text: k }), scoredBars(v));
  }
  return box;
}

// The answer of any endpoint: its lists drawn entry by entry, its notes as text.
export function renderResponse(data) {
  const out = node("div", {});
  for (const [key, value] of Object.entries(data)) {
    if (isScoredList(value)) out.append(scoredBars(value));
    else if (Array.isArray(value) && value.every(isObject)) {
      value.forEach((entry, i) => out.append(renderObject(entry, value.length > 1 ? `#${i + 1}` : "")));
    } else if (Array.isArray(value)) {
      if (value.length) out.append(node("p", { class: "muted", text: `${key.replaceAll("_", " ")}: ${value.join(", ")}` }));
    } else if (typeof value !== "object") {
      out.append(node("p", { class: "muted small", text: `${key}: ${value}` }));
    }
  }
  const words = out.querySelector(".words");
  if (words) out.append(node("p", { class: "legend", text: "Green words pushed towards the answer, red ones against it; hover a word for its weight." }));
  return out;
}
