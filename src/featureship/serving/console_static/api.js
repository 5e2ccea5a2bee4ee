// Calls to the server's REST API with the tab's API key; asks for a key on a 401.
const KEY = "featureship.apiKey";
let asking = null; // one key prompt at a time, shared by concurrent calls

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export function authHeaders() {
  const key = sessionStorage.getItem(KEY);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export function hasKey() { return sessionStorage.getItem(KEY) !== null; }

// fetch(path) with the key; on 401 asks for a key (showing the server's reason) and retries.
export async function call(path, options = {}) {
  for (;;) {
    const response = await fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
    if (response.status !== 401) return response;
    const { detail } = await response.json().catch(() => ({ detail: "This server requires an API key." }));
    await askForKey(detail);
  }
}

export async function json(path, options = {}) {
  const response = await call(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, (body && body.detail) || `${response.status} ${response.statusText}`);
  return body;
}

export function askForKey(message) {
  if (asking) return asking;
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  document.getElementById("key-message").textContent = hasKey()
    ? `${message} Enter another key.` : message;
  input.value = "";
  asking = new Promise((resolve, reject) => {
    const form = document.getElementById("key-form");
    const cancel = document.getElementById("key-cancel");
    const done = (ok) => {
      form.removeEventListener("submit", submit); cancel.removeEventListener("click", stop);
      dialog.removeEventListener("cancel", stop);
      asking = null;
      if (dialog.open) dialog.close();
      ok ? resolve() : reject(new ApiError(401, "An API key is needed for this server; use the API key button."));
    };
    const submit = (event) => {
      event.preventDefault();
      if (!input.value.trim()) { input.focus(); return; }
      sessionStorage.setItem(KEY, input.value.trim());
      done(true);
    };
    const stop = (event) => { event.preventDefault(); done(false); };
    form.addEventListener("submit", submit); cancel.addEventListener("click", stop);
    dialog.addEventListener("cancel", stop);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

// Reads a text/event-stream response with the key (EventSource cannot send headers).
export async function events(path, onEvent, signal) {
  const response = await call(path, { signal, headers: { Accept: "text/event-stream" } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ApiError(response.status, body.detail || response.statusText);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}
