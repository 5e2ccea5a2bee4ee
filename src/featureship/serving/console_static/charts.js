// Small line charts as inline SVG. Hand-written: a polyline and two labels do not need a library.
const NS = "http://www.w3.org/2000/svg";
const W = 240, H = 80, PAD = 4;

function el(name, attrs = {}) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// series: [{name, color, values: [number|null, ...]}]; returns a <figure> with the chart.
export function lineChart(title, series, unit) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.style.margin = "0";
  const caption = document.createElement("h4");
  const last = series.map((s) => {
    const v = [...s.values].reverse().find((x) => x !== null && x !== undefined);
    return `${s.name} ${v === undefined ? "–" : format(v)}${unit ? " " + unit : ""}`;
  }).join(", ");
  caption.textContent = `${title}: ${last}`;
  figure.append(caption);
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const max = Math.max(1e-9, ...all) * 1.1;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title} over the last minutes; now ${last}` });
  svg.append(el("line", { x1: PAD, x2: W - PAD, y1: H - PAD, y2: H - PAD, stroke: "#c4c9d2" }));
  for (const s of series) {
    const n = s.values.length;
    let d = "", pen = false;
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      const x = PAD + (i / Math.max(1, n - 1)) * (W - 2 * PAD);
      const y = H - PAD - (v / max) * (H - 2 * PAD);
      d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
      pen = true;
    });
    if (d) svg.append(el("path", { d, fill: "none", stroke: s.color, "stroke-width": 2 }));
  }
  const top = el("text", { x: PAD + 2, y: 12, "font-size": 10, fill: "#5a6270" });
  top.textContent = `max ${format(max / 1.1)}${unit ? " " + unit : ""}`;
  svg.append(top);
  figure.append(svg);
  return figure;
}

export function format(v) {
  if (typeof v !== "number") return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
