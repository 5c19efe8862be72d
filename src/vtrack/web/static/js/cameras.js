// Camera pages: "test connection" buttons (result in a toast) and the CSV/JSON import form.
// The import sends the file base64-encoded, as POST /api/v1/cameras/import takes it, and lists the
// API's row errors (all or nothing: one bad row imports nothing).
(() => {
  "use strict";

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-test-connection]");
    if (!button || !window.vt) return;
    event.preventDefault();
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const result = await vt.api("POST", button.dataset.testConnection, {});
      const data = result.data;
      vt.toast(data.message, data.success ? "ok" : "error");
    } catch (error) {
      vt.toast(error.message || String(error), "error");
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });

  function base64(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  function guessFormat(file, text) {
    const name = (file.name || "").toLowerCase();
    if (name.endsWith(".json")) return "json";
    if (name.endsWith(".csv")) return "csv";
    return /^\s*[[{]/.test(text) ? "json" : "csv";
  }

  function showRows(title, rows) {
    const box = document.getElementById("import-errors-box");
    const body = box.querySelector("tbody");
    body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const value of [row.row ?? "", row.field ?? "", row.message ?? ""]) {
        const td = document.createElement("td");
        td.textContent = String(value);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    box.querySelector("[data-import-errors-title]").textContent = title;
    box.classList.toggle("hidden", rows.length === 0);
  }

  async function submitImport(form) {
    const file = form.elements.file.files[0];
    const result = document.getElementById("import-result");
    result.classList.add("hidden");
    showRows("", []);
    vt.clearErrors(form);
    if (!file) {
      vt.showErrors(form, { message: vt.t("js.cameras.import_no_file"), details: [] });
      return;
    }
    const buffer = await file.arrayBuffer();
    const text = new TextDecoder().decode(buffer.slice(0, 64));
    const body = {
      format: form.elements.format.value || guessFormat(file, text),
      data: base64(buffer),
      skip_duplicates: form.elements.skip_duplicates.checked,
    };
    if (form.elements.group_id.value) body.group_id = form.elements.group_id.value;
    try {
      const answer = await vt.api("POST", form.dataset.importUrl, body);
      const data = answer.data;
      result.querySelector("[data-import-summary]").textContent = vt.t("js.cameras.import_summary", {
        created: data.created,
        skipped: data.skipped.length,
        groups: data.groupsCreated.length ? data.groupsCreated.join(", ") : "—",
      });
      result.classList.remove("hidden");
      showRows(vt.t("js.cameras.import_skipped"), data.skipped);
      vt.toast(vt.t("js.cameras.import_created", { created: data.created }));
    } catch (error) {
      if (!(error instanceof vt.ApiError)) { vt.toast(String(error), "error"); return; }
      const rows = (Array.isArray(error.details) ? error.details : []).filter((d) => d && d.message);
      vt.showErrors(form, { message: error.message, details: [] });
      showRows(vt.t("js.cameras.import_errors", { count: rows.length }), rows);
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-import-url]");
    if (!form || !window.vt) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    submitImport(form).finally(() => { button.disabled = false; });
  });
})();
