// A request form built from an endpoint's declared JSON Schema (GET /v1/models/NAME), and the
// body it sends. No task is named here: the fields follow the schema's types.
let uid = 0;

function resolve(schema, root) {
  if (schema && schema.$ref) return resolve(root.$defs[schema.$ref.split("/").pop()], root);
  return schema || {};
}

function types(schema) {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.anyOf) return schema.anyOf.flatMap((s) => types(s));
  return [];
}

function arrayOf(schema, root) {
  const array = schema.type === "array" ? schema : (schema.anyOf || []).find((s) => s.type === "array");
  return array ? resolve(array.items, root) : null;
}

function node(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") el.textContent = v; else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children);
  return el;
}

function field(labelText, control, hint, wide) {
  const id = `f${++uid}`;
  control.id = id;
  const wrap = node("div", { class: wide ? "field wide" : "field" }, node("label", { for: id, text: labelText }), control);
  if (hint) {
    const hintNode = node("span", { class: "hint", id: `${id}-hint`, text: hint });
    control.setAttribute("aria-describedby", hintNode.id);
    wrap.append(hintNode);
  }
  return wrap;
}

// One scalar control for a schema; returns {element, read()} where read() gives the JSON
// value, or undefined when left empty.
function scalar(name, schema, example, required) {
  const t = types(schema);
  const title = schema.title || name;
  const label = required ? `${title} (required)` : title;
  if (t.includes("boolean") && !t.includes("string") && !t.includes("number")) {
    if (t.includes("null")) {
      const select = node("select", {}, node("option", { value: "", text: "(missing)" }),
        node("option", { value: "true", text: "true" }), node("option", { value: "false", text: "false" }));
      if (example !== undefined && example !== null) select.value = String(example);
      return { element: field(label, select, schema.description), read: () => (select.value === "" ? null : select.value === "true") };
    }
    const box = node("input", { type: "checkbox" });
    box.checked = example !== undefined ? Boolean(example) : Boolean(schema.default);
    const fallback = Boolean(schema.default);
    return { element: field(label, box, schema.description), read: () => (box.checked === fallback && !required ? undefined : box.checked) };
  }
  const numeric = (t.includes("number") || t.includes("integer")) && !t.includes("string");
  const input = node("input", { type: numeric ? "number" : "text", step: t.includes("integer") ? "1" : "any",
    min: schema.minimum, max: schema.maximum, autocomplete: "off",
    placeholder: schema.format === "date-time" ? "2024-03-01" : undefined });
  const start = example !== undefined && example !== null ? example : (schema.default ?? "");
  input.value = start === null ? "" : String(start);
  const read = () => {
    const v = input.value.trim();
    if (v === "") return t.includes("null") ? null : undefined;
    if (numeric) return t.includes("integer") && !t.includes("number") ? parseInt(v, 10) : Number(v);
    return v;
  };
  return { element: field(label, input, schema.description), read };
}

function fileDrop(name, schema, spec) {
  const input = node("input", { type: "file", accept: "image/*", multiple: true });
  const zone = node("div", { class: "drop" });
  const wrap = field(`${schema.title || name}: images (drop files here or choose them)`, input, "One prediction per image, in order.", true);
  zone.append(wrap);
  let dropped = null;
  const list = node("p", { class: "hint", "aria-live": "polite" });
  zone.append(list);
  const show = (files) => { list.textContent = files.length ? [...files].map((f) => f.name).join(", ") : ""; };
  input.addEventListener("change", () => { dropped = null; show(input.files); });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault(); zone.classList.remove("over");
    dropped = e.dataTransfer.files; show(dropped);
  });
  return { element: zone, files: () => [...(dropped || input.files || [])], upload: spec.uploads };
}

// Builds the form for `spec` into `container`; returns collect() → {body, files}.
export function buildForm(spec, container) {
  container.replaceChildren();
  const root = spec.request_schema;
  const required = new Set(root.required || []);
  const example = spec.example || {};
  const readers = [];
  let uploads = null;
  for (const [name, raw] of Object.entries(root.properties || {})) {
    const schema = resolve(raw, root);
    const items = arrayOf(schema, root);
    const must = required.has(name);
    if (items && spec.uploads && spec.uploads.field === name) {
      uploads = fileDrop(name, schema, spec);
      container.append(uploads.element);
    } else if (items && items.type === "object" && items.properties) {
      // a list of rows: one row's fields (one per column, typed)
      const group = node("fieldset", {}, node("legend", { text: `${schema.title || name}: one row` }));
      const row = node("div", { class: "row" });
      group.append(row);
      const first = (example[name] || [])[0] || {};
      const cells = Object.entries(items.properties).map(([column, cs]) => {
        const key = cs.alias || column;
        const cell = scalar(key, { ...resolve(cs, root), title: key }, first[key], false);
        row.append(cell.element);
        return [key, cell];
      });
      container.append(group);
      readers.push([name, () => [Object.fromEntries(cells.map(([k, c]) => [k, c.read() ?? null]))]]);
    } else if (items && types(items).includes("string") && !types(items).includes("integer")) {
      const area = node("textarea", { rows: 3 });
      area.value = (example[name] || []).join("\n");
      container.append(field(`${schema.title || name}${must ? " (required)" : ""}: one per line`, area, schema.description, true));
      readers.push([name, () => {
        const lines = area.value.split("\n").map((l) => l.trim()).filter(Boolean);
        return lines.length ? lines : undefined;
      }]);
    } else if (items) {
      const input = node("input", { type: "text", autocomplete: "off" });
      input.value = (example[name] || []).join(", ");
      container.append(field(`${schema.title || name}${must ? " (required)" : ""}: comma-separated`, input, schema.description, true));
      readers.push([name, () => {
        const ids = input.value.split(",").map((v) => v.trim()).filter(Boolean);
        return ids.length ? ids : undefined;
      }]);
    } else {
      const control = scalar(name, schema, example[name], must);
      container.append(control.element);
      readers.push([name, control.read]);
    }
  }
  if (root.oneOf) {
    const names = root.oneOf.map((o) => (o.required || []).join(" + ")).join(" or ");
    container.append(node("p", { class: "hint", text: `Fill in exactly one of: ${names}.` }));
  }
  return () => {
    const body = {};
    for (const [name, read] of readers) {
      const value = read();
      if (value !== undefined) body[name] = value;
    }
    return { body, files: uploads ? uploads.files() : null, uploadField: uploads && spec.uploads.field };
  };
}
