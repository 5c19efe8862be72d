// The "Add source" wizard: test, discover and save through the JSON API (/api/v1/discovery, /sources,
// /cameras, /cloud). Device tests run a discovery sweep of the given host(s), which saves nothing; RTSP and
// cloud tests can only be done by creating the source, so that source stays "pending" until Save and is
// deleted on Cancel or when the page is left.
(() => {
  "use strict";
  const form = document.getElementById("add-source-form");
  if (!form) return;
  const { kind, type, protocol } = form.dataset;
  const result = document.getElementById("connection-result");
  const section = document.getElementById("discovery");
  const grid = form.querySelector("[data-cameras]");
  const selectAll = form.querySelector("[data-select-all]");
  const T = (key, values) => vt.t("js.add_source." + key, values);

  let found = []; // cameras of the last discovery, as the API returned them
  let pending = null; // {id, stale}: a source created by "Test connection" but not yet saved
  let busy = false;

  const field = (name) => form.elements.namedItem(name);
  const value = (name) => (field(name) && field(name).value.trim()) || "";

  function say(text, ok) {
    result.textContent = text;
    result.classList.remove("hidden", "ok", "error");
    result.classList.add(ok ? "ok" : "error");
    result.dataset.state = ok ? "ok" : "error";
  }

  // The discovery API takes hosts and CIDR ranges; the page also accepts "a.b.c.d-e" and "a.b.c.d-a.b.c.e".
  function expandHosts(text) {
    const toInt = (ip) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
    const toIp = (n) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
    const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;
    return text.split(/[\s,]+/).filter(Boolean).flatMap((item) => {
      const [from, to] = item.split("-");
      if (to === undefined || !ipv4.test(from)) return [item];
      const end = ipv4.test(to) ? to : from.replace(/\d+$/, to);
      if (!ipv4.test(end) || toInt(end) < toInt(from) || toInt(end) - toInt(from) > 1023) return [item];
      const out = [];
      for (let n = toInt(from); n <= toInt(end); n += 1) out.push(toIp(n));
      return out;
    }).join(",");
  }

  function discoveryBody() {
    const body = {
      hosts: expandHosts(value("hosts")) || undefined,
      ports: value("ports") || undefined,
      username: value("username") || undefined,
      password: field("password") ? field("password").value || undefined : undefined,
      timeout_seconds: parseFloat(value("timeout_seconds")) || 3,
      ws_discovery: field("ws_discovery") ? field("ws_discovery").checked : false,
    };
    if (!body.hosts && !body.ws_discovery) body.hosts = ""; // the API's "give at least one host"
    return body;
  }

  function progress(fraction, message) {
    section.classList.remove("hidden");
    const bar = section.querySelector(".progress");
    const percent = Math.round((fraction || 0) * 100);
    bar.querySelector("span").style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    section.querySelector("[data-discovery-message]").textContent = message || "";
  }

  async function sweep() {
    const started = await vt.api("POST", "/api/v1/discovery", discoveryBody());
    const jobId = started.data.jobId;
    section.dataset.jobId = jobId;
    progress(0, T("scanning"));
    for (;;) {
      const run = (await vt.api("GET", `/api/v1/discovery/${jobId}`)).data;
      progress(run.progress, run.message || T("scanning"));
      if (!["queued", "running"].includes(run.state)) {
        if (!run.result) throw new Error(run.error || T("failed"));
        return run.result;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  }

  function spec(camera) {
    const bits = [
      camera.host && camera.onvif_port ? `${camera.host}:${camera.onvif_port}` : camera.host,
      camera.channel ? T("channel", { n: camera.channel }) : "",
      [camera.manufacturer, camera.model].filter(Boolean).join(" "),
      camera.resolution, camera.codec, camera.fps ? `${camera.fps} fps` : "",
    ];
    return bits.filter(Boolean);
  }

  function render(cameras, problems) {
    found = cameras;
    grid.replaceChildren();
    cameras.forEach((camera, index) => {
      const tile = document.createElement("label");
      tile.className = "tile selectable selected as-camera";
      tile.dataset.testid = "discovered-camera";
      tile.setAttribute("data-testid", "discovered-camera");
      tile.dataset.name = camera.name;
      tile.dataset.host = camera.host || "";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.value = String(index);
      box.setAttribute("data-testid", "camera-checkbox");
      box.setAttribute("aria-label", camera.name);
      const title = document.createElement("strong");
      title.textContent = camera.name;
      const meta = document.createElement("ul");
      meta.className = "meta small";
      for (const bit of spec(camera)) {
        const item = document.createElement("li");
        item.textContent = bit;
        meta.appendChild(item);
      }
      tile.append(box, title, meta);
      grid.appendChild(tile);
    });
    const list = form.querySelector("[data-problems]");
    list.replaceChildren(...(problems || []).map((p) => {
      const item = document.createElement("li");
      item.textContent = `${p.host}:${p.port} — ${p.message}`;
      return item;
    }));
    selectAll.checked = cameras.length > 0;
    counted();
  }

  function chosen() {
    return [...grid.querySelectorAll("input[type=checkbox]")].filter((b) => b.checked).map((b) => found[+b.value]);
  }

  function counted() {
    grid.querySelectorAll(".as-camera").forEach((tile) => {
      tile.classList.toggle("selected", tile.querySelector("input").checked);
    });
    form.querySelector("[data-selected-count]").textContent = T("selected", { n: chosen().length, total: found.length });
  }

  function summary(scan) {
    const devices = scan.devices || [];
    if (!devices.length) {
      const problem = (scan.problems || [])[0];
      return [false, problem ? `${problem.host}:${problem.port} — ${problem.message}` : T("nothing")];
    }
    const names = devices.map((d) => [d.manufacturer, d.model].filter(Boolean).join(" ") || `${d.host}:${d.port}`);
    return [true, T("connected_devices", { devices: devices.length, cameras: (scan.cameras || []).length, names: names.join(", ") })];
  }

  // --- pending sources (RTSP URL and cloud): created by the test, kept by Save, deleted otherwise ---
  function sourceBody(extra = {}) {
    const all = vt.formValue(form);
    const body = { name: all.name || defaultName(), type };
    const keep = {
      rtsp: ["rtsp_url", "username", "password"],
      tapo: ["host", "port", "stream_port", "password", "timeout_seconds"],
      s3: ["bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key"],
      drive: ["account_id", "root"],
      camera_cloud: ["account_id"],
    }[kind] || [];
    for (const key of keep) if (all[key] !== undefined && all[key] !== "") body[key] = all[key];
    return Object.assign(body, extra);
  }

  function defaultName() {
    const label = form.querySelector("h2").textContent.trim();
    const where = value("bucket") || value("hosts") || value("host") || value("rtsp_url").replace(/^rtsp:\/\/([^@/]*@)?/, "").split("/")[0];
    return where ? `${T("default_name", { protocol: protocolLabel() })} ${where}`.slice(0, 255) : label;
  }

  function protocolLabel() {
    const tile = document.querySelector(`[data-protocol="${protocol}"] strong`);
    return tile ? tile.textContent.trim() : protocol;
  }

  async function dropPending(keepalive = false) {
    if (!pending) return;
    const id = pending.id;
    pending = null;
    const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
    await fetch(`/api/v1/sources/${id}`, { method: "DELETE", keepalive, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" }).catch(() => {});
  }

  async function ensureAccount() {
    if (kind !== "camera_cloud" || value("account_id") || !value("app_key")) return;
    const account = (await vt.api("POST", `/api/v1/cloud/${type}/accounts`, {
      app_key: value("app_key"), app_secret: field("app_secret").value,
    })).data;
    addAccount(account);
  }

  function addAccount(account) {
    const select = field("account_id");
    if (!select || !account) return;
    let option = [...select.options].find((o) => o.value === account.id);
    if (!option) {
      option = new Option(account.label, account.id);
      select.add(option);
    }
    select.value = account.id;
  }

  async function createPending(selected) {
    if (pending && pending.stale) await dropPending();
    if (pending) {
      const source = (await vt.api("POST", `/api/v1/sources/${pending.id}/probe`)).data;
      return source;
    }
    await ensureAccount();
    const source = (await vt.api("POST", "/api/v1/sources", sourceBody(selected === undefined ? {} : { selected_cameras: selected }))).data;
    pending = { id: source.id, stale: false };
    return source;
  }

  function describeSource(source) {
    const camera = (source.detectedCameras || [])[0];
    if (camera) return T("connected_stream", { name: camera.name, specs: spec(camera).join(" · ") });
    const account = source.config && source.config.account;
    return T("connected_cloud", { name: source.name, account: typeof account === "string" ? account : "" });
  }

  // --- the buttons ---
  async function test() {
    if (kind === "device" || (kind === "rtsp" && !value("rtsp_url"))) {
      const scan = await sweep();
      const [ok, text] = summary(scan);
      render(scan.cameras || [], scan.problems);
      say(text, ok);
      return;
    }
    const source = await createPending(kind === "rtsp" ? [] : undefined);
    say(describeSource(source), true);
  }

  async function discover() {
    const scan = await sweep();
    render(scan.cameras || [], scan.problems);
    const [ok, text] = summary(scan);
    if (!ok) say(text, false);
    else progress(1, T("found", { n: (scan.cameras || []).length }));
  }

  async function save() {
    if (kind === "device") return saveDevices();
    if (kind === "rtsp" && found.length && !value("rtsp_url")) return saveCameras();
    if (kind === "rtsp") {
      if (pending && !pending.stale) {
        const source = (await vt.api("GET", `/api/v1/sources/${pending.id}`)).data;
        const names = (source.detectedCameras || []).map((c) => c.name);
        await vt.api("PATCH", `/api/v1/sources/${pending.id}`, { selected_cameras: names });
      } else {
        await dropPending();
        await vt.api("POST", "/api/v1/sources", sourceBody());
      }
      return done("/cameras");
    }
    if (!pending || pending.stale) await createPending();
    return done("/sources");
  }

  // Discovered cameras become one source per device host, as seed 000 saves an NVR or a host whose
  // cameras answer on several ports: the source re-probes them and keeps snapshot and sub-stream URIs.
  async function saveDevices() {
    const selected = chosen();
    if (!selected.length) throw new Error(T("none_selected"));
    const groups = new Map();
    for (const camera of selected) {
      const sourceType = type === "onvif" && ["hikvision", "dahua"].includes(camera.protocol) ? camera.protocol : type;
      const key = `${camera.host}|${sourceType}`;
      if (!groups.has(key)) groups.set(key, { host: camera.host, type: sourceType, ports: [], names: [] });
      const group = groups.get(key);
      if (camera.onvif_port && !group.ports.includes(camera.onvif_port)) group.ports.push(camera.onvif_port);
      group.names.push(camera.name);
    }
    const base = value("name");
    for (const group of groups.values()) {
      const name = base && groups.size === 1 ? base : `${base || T("default_name", { protocol: protocolLabel() })} ${group.host}`.trim();
      const body = { name, type: group.type, host: group.host, selected_cameras: group.names, timeout_seconds: parseFloat(value("timeout_seconds")) || 5 };
      if (group.ports.length) body.ports = group.ports;
      if (value("username")) body.username = value("username");
      if (field("password").value) body.password = field("password").value;
      await vt.api("POST", "/api/v1/sources", body);
    }
    return done(type === "onvif" ? "/cameras" : "/sources");
  }

  async function saveCameras() {
    const selected = chosen();
    if (!selected.length) throw new Error(T("none_selected"));
    for (const camera of selected) {
      const body = { name: camera.name, rtsp_url: camera.rtsp_url, protocol: "rtsp" };
      for (const key of ["manufacturer", "model", "resolution", "fps"]) if (camera[key]) body[key] = camera[key];
      if (camera.codec) body.codec = camera.codec.toLowerCase();
      if (value("username")) body.username = value("username");
      if (field("password").value) body.password = field("password").value;
      await vt.api("POST", "/api/v1/cameras", body);
    }
    return done("/cameras");
  }

  function done(where) {
    pending = null;
    vt.toast(vt.t("js.saved"));
    location.href = where;
  }

  async function cancel() {
    await dropPending();
    location.href = "/sources";
  }

  // --- cloud sign-in: the OAuth popup (its callback page posts {cloudAccount} to us) and the device code ---
  async function connect() {
    const popup = window.open("about:blank", "vtrack-oauth", "width=620,height=720");
    const started = (await vt.api("POST", `/api/v1/cloud/${type}/auth`, { flow: "code" })).data;
    if (popup) popup.location.href = started.authorizationUrl;
    else location.href = started.authorizationUrl; // popups blocked: the callback page ends the flow
    say(T("connecting"), true);
  }

  async function refreshAccounts(selectId) {
    const accounts = (await vt.api("GET", "/api/v1/cloud/accounts")).data.filter((a) => a.provider === type);
    accounts.forEach(addAccount);
    if (selectId) field("account_id").value = selectId;
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== location.origin || !event.data || !event.data.cloudAccount) return;
    refreshAccounts(event.data.cloudAccount).then(() => say(T("account_connected"), true)).catch(failed);
  });

  async function deviceCode() {
    const box = form.querySelector("[data-device-code]");
    const started = (await vt.api("POST", `/api/v1/cloud/${type}/auth`, { flow: "device" })).data;
    box.classList.remove("hidden");
    box.replaceChildren();
    const link = document.createElement("a");
    link.href = started.verificationUri;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = started.verificationUri;
    const code = document.createElement("strong");
    code.textContent = started.userCode;
    code.setAttribute("data-testid", "user-code");
    box.append(T("device_code_intro"), " ", link, " ", T("device_code_enter"), " ", code);
    const interval = Math.max(1, started.interval || 5) * 1000;
    const until = started.expiresAt ? Date.parse(started.expiresAt) : Date.now() + 15 * 60 * 1000;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, interval));
      const polled = (await vt.api("POST", `/api/v1/cloud/${type}/device/poll`, { state: started.state })).data;
      if (polled.status === "connected") {
        addAccount(polled.account);
        box.classList.add("hidden");
        say(T("account_connected"), true);
        return;
      }
    }
    throw new Error(T("device_code_expired"));
  }

  function failed(error) {
    if (error instanceof vt.ApiError) vt.showErrors(form, error);
    say(error.message || String(error), false);
  }

  const actions = { test, discover, save, cancel, connect, "device-code": deviceCode };
  form.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    event.preventDefault();
    if (busy && button.dataset.action !== "cancel") return;
    busy = true;
    const buttons = form.querySelectorAll("button[data-action]");
    buttons.forEach((b) => { if (b.dataset.action !== "cancel") b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    vt.clearErrors(form);
    try {
      await actions[button.dataset.action]();
    } catch (error) {
      failed(error);
    } finally {
      busy = false;
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute("aria-busy");
    }
  });

  form.addEventListener("input", (event) => {
    if (event.target.closest("[data-cameras]") || event.target === selectAll) return;
    if (pending) pending.stale = true;
  });
  form.addEventListener("change", (event) => {
    if (event.target === selectAll) {
      grid.querySelectorAll("input[type=checkbox]").forEach((b) => (b.checked = selectAll.checked));
    }
    if (event.target === selectAll || event.target.closest("[data-cameras]")) counted();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("pagehide", () => { if (pending) dropPending(true); });
})();
