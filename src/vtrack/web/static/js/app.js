// vtrack dashboard: what every page shares. Plain ES2020, no build step.
// - vt.api(): fetch against /api/v1 with the session cookie and the CSRF header; errors as vt.ApiError
// - <form data-api="/api/v1/..." data-method="POST"> posts its fields as JSON and shows field errors
// - <button data-api-action="/api/v1/..." data-method="DELETE" data-confirm="..."> runs one call
// - the page's live stream (body[data-live]) becomes DOM events "vt:<kind>" and htmx triggers "vt-<kind>"
(() => {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const messages = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
  const t = (key, values = {}) =>
    (messages[key] || key).replace(/\{(\w+)\}/g, (_, name) => (values[name] ?? "").toString());

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || `HTTP ${status}`);
      this.status = status;
      this.code = error.code || "error";
      this.details = error.details;
    }
  }

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrf();
    const response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    if (response.status === 401) {
      location.href = "/?next=" + encodeURIComponent(location.pathname + location.search);
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    if (!response.ok || (json && json.success === false)) throw new ApiError(response.status, json);
    return json;
  }

  function toast(text, kind = "ok") {
    const box = document.getElementById("toast");
    if (!box) return;
    const item = document.createElement("div");
    item.className = `msg ${kind}`;
    item.textContent = text;
    box.appendChild(item);
    setTimeout(() => item.remove(), kind === "error" ? 6000 : 3000);
  }

  function setPath(target, dotted, value) {
    const parts = dotted.split(".");
    let node = target;
    for (const part of parts.slice(0, -1)) node = node[part] = node[part] || {};
    node[parts[parts.length - 1]] = value;
  }

  function convert(el, raw) {
    switch (el.dataset.type) {
      case "int": return parseInt(raw, 10);
      case "float": return parseFloat(raw);
      case "bool": return raw === "true";
      case "json": return JSON.parse(raw);
      case "list": return raw.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
      default: return raw;
    }
  }

  // Empty fields are left out (the API keeps its default), unless data-empty="null" asks to clear them.
  function formValue(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.name === "csrf_token" || "skip" in el.dataset) continue;
      if (el.type === "checkbox") { setPath(out, el.name, el.checked); continue; }
      if (el.type === "radio" && !el.checked) continue;
      if (el.tagName === "SELECT" && el.multiple) {
        setPath(out, el.name, [...el.selectedOptions].map((o) => o.value));
        continue;
      }
      if (el.value === "") {
        if (el.dataset.empty === "null") setPath(out, el.name, null);
        continue;
      }
      setPath(out, el.name, convert(el, el.value));
    }
    return out;
  }

  function clearErrors(form) {
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    const box = form.querySelector("[data-form-error]");
    if (box) { box.textContent = ""; box.classList.add("hidden"); }
  }

  // The API names the field of each problem ("name", "config.bucket", "rows.2.rtsp_url").
  function showErrors(form, error) {
    clearErrors(form);
    const box = form.querySelector("[data-form-error]");
    if (box) { box.textContent = error.message; box.classList.remove("hidden"); } else { toast(error.message, "error"); }
    for (const detail of Array.isArray(error.details) ? error.details : []) {
      if (!detail || !detail.field) continue;
      const el = form.querySelector(`[name="${CSS.escape(detail.field)}"]`);
      if (!el) continue;
      el.classList.add("invalid");
      const note = document.createElement("span");
      note.className = "field-error";
      note.textContent = detail.message;
      el.insertAdjacentElement("afterend", note);
    }
  }

  function afterSuccess(el, result) {
    el.dispatchEvent(new CustomEvent("vt:done", { detail: result, bubbles: true }));
    // A sync just asked for: its bar starts again from 0 now, not when the stream first reports the run.
    // (Unless the stream already reported that run: a quick one can finish before this answer arrives.)
    const job = result && result.data && result.data.jobId;
    if (el.dataset.syncSource && job && !reportedRuns.has(job)) {
      showSync({ sourceId: el.dataset.syncSource, jobId: job, state: result.data.state, progress: 0 });
    }
    const id = result && result.data && result.data.id;
    if (el.dataset.redirect) { location.href = el.dataset.redirect.replace("{id}", id || ""); return; }
    if ("reload" in el.dataset) { location.reload(); return; }
    if (el.dataset.refresh && window.htmx) {
      document.querySelectorAll(el.dataset.refresh).forEach((target) => htmx.trigger(target, "refresh"));
    }
    if (el.dataset.success) toast(el.dataset.success);
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach((b) => (b.disabled = true));
    clearErrors(form);
    try {
      const result = await api((form.dataset.method || "POST").toUpperCase(), form.dataset.api, formValue(form));
      afterSuccess(form, result);
    } catch (error) {
      if (error instanceof ApiError) showErrors(form, error); else toast(String(error), "error");
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-api-action]");
    if (!button) return;
    event.preventDefault();
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
      const result = await api((button.dataset.method || "POST").toUpperCase(), button.dataset.apiAction, body);
      afterSuccess(button, result);
    } catch (error) {
      toast(error.message || String(error), "error");
    } finally {
      button.disabled = false;
    }
  });

  // Sync progress bars: <div class="progress" data-sync-progress="SOURCE_ID"><span></span></div>,
  // [data-sync-percent="SOURCE_ID"] and [data-sync-state="SOURCE_ID"] follow the stream.
  const reportedRuns = new Set();

  function showSync(detail) {
    const id = CSS.escape(detail.sourceId || "");
    const percent = Math.round((detail.progress || 0) * 100);
    document.querySelectorAll(`[data-sync-progress="${id}"]`).forEach((bar) => {
      bar.classList.toggle("done", detail.state === "done");
      bar.classList.toggle("failed", detail.state === "failed");
      const fill = bar.querySelector("span");
      if (fill) fill.style.width = `${percent}%`;
      bar.setAttribute("aria-valuenow", String(percent));
    });
    document.querySelectorAll(`[data-sync-percent="${id}"]`).forEach((el) => (el.textContent = `${percent}%`));
    document.querySelectorAll(`[data-sync-state="${id}"]`).forEach((el) => {
      el.textContent = t(`js.sync.${detail.state}`);
      el.className = `badge ${detail.state}`;
    });
    document.querySelectorAll(`[data-sync-error="${id}"]`).forEach((el) => (el.textContent = detail.error || ""));
  }

  function connectLive() {
    const url = document.body.dataset.live;
    if (!url || !window.EventSource) return;
    const source = new EventSource(url);
    for (const kind of ["camera", "sync", "counts"]) {
      source.addEventListener(kind, (message) => {
        const detail = JSON.parse(message.data);
        if (kind === "sync") {
          reportedRuns.add(detail.jobId);
          showSync(detail);
        }
        document.dispatchEvent(new CustomEvent(`vt:${kind}`, { detail }));
        if (window.htmx) htmx.trigger(document.body, `vt-${kind}`, detail);
      });
    }
    source.addEventListener("open", () => document.body.setAttribute("data-live-state", "open"));
    source.addEventListener("error", () => document.body.setAttribute("data-live-state", "retrying"));
    window.addEventListener("pagehide", () => source.close());
  }

  window.vt = { api, t, toast, formValue, showErrors, clearErrors, ApiError };
  document.addEventListener("DOMContentLoaded", connectLive);
})();
