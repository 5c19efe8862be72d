// Line and zone editor: draws the channel's counting lines and zones over its picture on a <canvas>, lets a
// writer add (two clicks for a line; corner clicks for a zone), flip and delete them, and saves them with
// one PATCH of the channel. Positions are fractions of the frame (0..1), so they survive the camera
// switching resolution; the API validates them with the same specs as a site file.
//
// Direction: a line runs p1 -> p2 and "in" is a crossing onto its right-hand side as seen on the picture
// (y grows downwards): cross(p1, p2, p) = dx * (py - y1) - dy * (px - x1) > 0 is the "in" side, so the
// right-hand normal is (-dy, dx). For a line drawn left to right, walking down the picture across it is in.
(() => {
  "use strict";

  const COLORS = ["#22c55e", "#f59e0b", "#38bdf8", "#e879f9", "#f87171", "#a3e635", "#fb923c", "#818cf8"];
  const NAME = /^[\p{L}\p{N}_][\p{L}\p{N}_ .\-]{0,63}$/u; // the specs' \w[\w .\-]{0,63}
  const CLOSE_PX = 12; // a click this close to the first corner closes a zone
  const SAME_PX = 4; // the second click of a double-click is not a new corner

  const t = (key, values) => (window.vt ? window.vt.t(key, values) : key);
  const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;

  function init() {
    const root = document.querySelector('[data-testid="line-editor"]');
    const dataNode = document.getElementById("editor-data");
    if (!root || !dataNode) return;
    const config = JSON.parse(dataNode.textContent);
    const canvas = root.querySelector("canvas");
    const img = root.querySelector("img[data-picture]");
    const errorBox = root.querySelector("[data-form-error]");
    const hint = root.querySelector("[data-hint]");
    const nameInput = root.querySelector("#shape-name");
    const saveButton = root.querySelector("[data-save]");
    const cancelButton = root.querySelector("[data-cancel]");
    const defaultHint = hint ? hint.textContent : "";
    const lists = { lines: root.querySelector('[data-list="lines"]'), zones: root.querySelector('[data-list="zones"]') };

    const state = {
      lines: config.lines.map((l) => ({ ...l, points: l.points.map((p) => p.slice()) })),
      zones: config.zones.map((z) => ({ ...z, points: z.points.map((p) => p.slice()) })),
      mode: null, // "line" | "zone" while drawing
      draft: [],
      cursor: null,
      dirty: false,
      converted: false,
    };

    const isFraction = (points) => points.every((p) => p.every((v) => v >= 0 && v <= 1));

    // Site files and the CLI may give pixels: turn them into fractions once the frame's size is known.
    function convertPixels() {
      if (state.converted || !img || !img.naturalWidth) return;
      state.converted = true;
      const w = img.naturalWidth, h = img.naturalHeight;
      for (const spec of [...state.lines, ...state.zones]) {
        if (!isFraction(spec.points)) {
          spec.points = spec.points.map(([x, y]) => [round(x / w), round(y / h)]);
          state.dirty = true;
        }
      }
    }

    function size() {
      const rect = canvas.getBoundingClientRect();
      const ratio = window.devicePixelRatio || 1;
      canvas.width = Math.max(1, Math.round(rect.width * ratio));
      canvas.height = Math.max(1, Math.round(rect.height * ratio));
      draw();
    }

    function toCanvas([x, y]) {
      return [x * canvas.width, y * canvas.height];
    }

    function label(ctx, text, x, y, color) {
      const ratio = window.devicePixelRatio || 1;
      ctx.font = `${Math.round(12 * ratio)}px system-ui, sans-serif`;
      const width = ctx.measureText(text).width + 8 * ratio;
      ctx.fillStyle = "rgba(15, 23, 42, .8)";
      ctx.fillRect(x - width / 2, y - 9 * ratio, width, 18 * ratio);
      ctx.fillStyle = color;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(text, x, y);
    }

    function drawLine(ctx, line, color) {
      const ratio = window.devicePixelRatio || 1;
      const [a, b] = line.points.map(toCanvas);
      ctx.strokeStyle = color;
      ctx.lineWidth = 3 * ratio;
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const len = Math.hypot(dx, dy) || 1;
      const nx = -dy / len, ny = dx / len; // right-hand side of a -> b on screen: the "in" side
      const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const arrow = 28 * ratio;
      const tip = [mid[0] + nx * arrow, mid[1] + ny * arrow];
      ctx.beginPath(); ctx.moveTo(mid[0], mid[1]); ctx.lineTo(tip[0], tip[1]); ctx.stroke();
      const head = 7 * ratio;
      ctx.beginPath();
      ctx.moveTo(tip[0], tip[1]);
      ctx.lineTo(tip[0] - nx * head + ny * head, tip[1] - ny * head - nx * head);
      ctx.lineTo(tip[0] - nx * head - ny * head, tip[1] - ny * head + nx * head);
      ctx.closePath(); ctx.fillStyle = color; ctx.fill();
      label(ctx, t("js.analytics.in"), tip[0] + nx * 14 * ratio, tip[1] + ny * 14 * ratio, color);
      label(ctx, t("js.analytics.out"), mid[0] - nx * 22 * ratio, mid[1] - ny * 22 * ratio, "#e2e8f0");
      label(ctx, "1", a[0], a[1], color);
      label(ctx, "2", b[0], b[1], color);
      label(ctx, line.name, mid[0] - nx * 48 * ratio, mid[1] - ny * 48 * ratio, "#fff"); // on the "out" side, clear of the arrow
    }

    function drawZone(ctx, zone, color) {
      const ratio = window.devicePixelRatio || 1;
      const pts = zone.points.map(toCanvas);
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.globalAlpha = 0.22; ctx.fillStyle = color; ctx.fill(); ctx.globalAlpha = 1;
      ctx.strokeStyle = color; ctx.lineWidth = 2 * ratio; ctx.stroke();
      const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
      const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
      label(ctx, zone.name, cx, cy, "#fff");
    }

    function drawDraft(ctx) {
      if (!state.mode || (!state.draft.length && !state.cursor)) return;
      const ratio = window.devicePixelRatio || 1;
      const pts = state.draft.map(toCanvas);
      if (state.cursor) pts.push(toCanvas(state.cursor));
      ctx.setLineDash([6 * ratio, 4 * ratio]);
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 2 * ratio;
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
      ctx.setLineDash([]);
      state.draft.map(toCanvas).forEach(([x, y], i) => {
        ctx.beginPath(); ctx.arc(x, y, (i === 0 ? 6 : 4) * ratio, 0, Math.PI * 2);
        ctx.fillStyle = i === 0 ? "#facc15" : "#fff"; ctx.fill();
      });
    }

    function draw() {
      const ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      state.zones.forEach((zone, i) => { if (isFraction(zone.points)) drawZone(ctx, zone, COLORS[(i + 4) % COLORS.length]); });
      state.lines.forEach((line, i) => { if (isFraction(line.points)) drawLine(ctx, line, COLORS[i % COLORS.length]); });
      drawDraft(ctx);
    }

    const fmt = ([x, y]) => `(${Number(x).toFixed(3)}, ${Number(y).toFixed(3)})`;

    function button(text, testid, onClick, className = "") {
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = text;
      el.dataset.testid = testid;
      if (className) el.className = className;
      el.addEventListener("click", onClick);
      return el;
    }

    function renderList(kind) {
      const list = lists[kind];
      list.replaceChildren();
      const specs = state[kind];
      if (!specs.length) {
        const empty = document.createElement("li");
        empty.className = "muted small";
        empty.dataset.empty = "";
        empty.textContent = t(kind === "lines" ? "js.analytics.no_lines" : "js.analytics.no_zones");
        list.appendChild(empty);
        return;
      }
      specs.forEach((spec, index) => {
        const item = document.createElement("li");
        item.dataset.testid = kind === "lines" ? "line-item" : "zone-item";
        item.dataset.index = String(index);
        item.dataset.name = spec.name;
        item.dataset.points = JSON.stringify(spec.points);
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = COLORS[(kind === "lines" ? index : index + 4) % COLORS.length];
        const name = document.createElement("b");
        name.textContent = spec.name;
        const where = document.createElement("span");
        where.className = "small muted";
        where.textContent = kind === "lines"
          ? `${fmt(spec.points[0])} → ${fmt(spec.points[1])}`
          : t("js.analytics.corners", { n: spec.points.length });
        const spacer = document.createElement("span");
        spacer.className = "spacer";
        item.append(swatch, name, where, spacer);
        if (config.canWrite) {
          if (kind === "lines") {
            item.append(button(t("js.analytics.flip"), "flip-line", () => {
              spec.points.reverse();
              changed();
            }));
          }
          item.append(button(t("js.analytics.delete"), `delete-${kind === "lines" ? "line" : "zone"}`, () => {
            specs.splice(index, 1);
            changed();
          }, "danger"));
        }
        list.appendChild(item);
      });
    }

    function render() {
      renderList("lines");
      renderList("zones");
      if (saveButton) saveButton.classList.toggle("dirty", state.dirty);
      if (saveButton) saveButton.title = state.dirty ? t("js.analytics.unsaved") : "";
      draw();
    }

    function changed() {
      state.dirty = true;
      clearErrors();
      render();
    }

    function nextName(kind) {
      const prefix = kind === "line" ? "line" : "zone";
      const taken = new Set(state[`${kind}s`].map((s) => s.name.toLowerCase()));
      let n = state[`${kind}s`].length + 1;
      while (taken.has(`${prefix}${n}`)) n += 1;
      return `${prefix}${n}`;
    }

    // The name is checked before drawing starts, so a finished shape is never lost to a typo.
    function startDrawing(kind) {
      const typed = (nameInput && nameInput.value.trim()) || "";
      const name = typed || nextName(kind);
      if (!NAME.test(name)) { showMessage(t("js.analytics.bad_name")); return; }
      if (state[`${kind}s`].some((s) => s.name.toLowerCase() === name.toLowerCase())) {
        showMessage(t("js.analytics.name_taken", { name }));
        return;
      }
      clearErrors();
      state.mode = kind;
      state.pendingName = name;
      state.draft = [];
      root.classList.add("drawing");
      if (cancelButton) cancelButton.classList.remove("hidden");
      if (hint) hint.textContent = t(kind === "line" ? "js.analytics.line_hint" : "js.analytics.zone_hint");
      draw();
    }

    function stopDrawing() {
      state.mode = null;
      state.draft = [];
      state.cursor = null;
      root.classList.remove("drawing");
      if (cancelButton) cancelButton.classList.add("hidden");
      if (hint) hint.textContent = defaultHint;
      draw();
    }

    function finish() {
      const points = state.draft.map((p) => [round(p[0]), round(p[1])]);
      if (state.mode === "line") state.lines.push({ name: state.pendingName, points });
      else state.zones.push({ name: state.pendingName, points });
      if (nameInput) nameInput.value = "";
      stopDrawing();
      changed();
    }

    function fraction(event) {
      const rect = canvas.getBoundingClientRect();
      return [round((event.clientX - rect.left) / rect.width), round((event.clientY - rect.top) / rect.height)];
    }

    function pixelsApart(a, b) {
      const rect = canvas.getBoundingClientRect();
      return Math.hypot((a[0] - b[0]) * rect.width, (a[1] - b[1]) * rect.height);
    }

    function click(event) {
      if (!state.mode) return;
      const point = fraction(event);
      const last = state.draft[state.draft.length - 1];
      if (last && pixelsApart(point, last) < SAME_PX) return;
      if (state.mode === "zone" && state.draft.length >= 3 && pixelsApart(point, state.draft[0]) < CLOSE_PX) {
        finish();
        return;
      }
      state.draft.push(point);
      if (state.mode === "line" && state.draft.length === 2) finish();
      else draw();
    }

    function clearErrors() {
      if (errorBox) { errorBox.replaceChildren(); errorBox.classList.add("hidden"); }
      root.querySelectorAll(".an-items li.invalid").forEach((li) => li.classList.remove("invalid"));
    }

    function showMessage(text) {
      if (!errorBox) { window.vt && window.vt.toast(text, "error"); return; }
      errorBox.replaceChildren(document.createTextNode(text));
      errorBox.classList.remove("hidden");
    }

    // The API names each problem's place ("lines[1].points"): list them and mark the item.
    function showApiError(error) {
      showMessage(error.message);
      const details = Array.isArray(error.details) ? error.details : [];
      if (!details.length) return;
      const list = document.createElement("ul");
      for (const detail of details) {
        const item = document.createElement("li");
        item.textContent = detail.field ? `${detail.field}: ${detail.message}` : detail.message;
        list.appendChild(item);
        const match = /^(lines|zones)\[(\d+)\]/.exec(detail.field || "");
        if (match) {
          const li = lists[match[1]].querySelector(`li[data-index="${match[2]}"]`);
          if (li) li.classList.add("invalid");
        }
      }
      errorBox.appendChild(list);
    }

    async function save() {
      clearErrors();
      saveButton.disabled = true;
      try {
        const body = {
          lines: state.lines.map(({ name, points, hysteresis }) => (
            hysteresis === undefined ? { name, points } : { name, points, hysteresis })),
          zones: state.zones.map(({ name, points, min_frames }) => (
            min_frames === undefined ? { name, points } : { name, points, min_frames })),
        };
        const result = await window.vt.api("PATCH", config.api, body);
        state.lines = result.data.lines;
        state.zones = result.data.zones;
        state.dirty = false;
        render();
        window.vt.toast(t("js.analytics.saved"));
      } catch (error) {
        if (error instanceof window.vt.ApiError) showApiError(error);
        else showMessage(String(error));
      } finally {
        saveButton.disabled = false;
      }
    }

    canvas.addEventListener("click", click);
    canvas.addEventListener("dblclick", (event) => {
      event.preventDefault();
      if (state.mode === "zone" && state.draft.length >= 3) finish();
    });
    canvas.addEventListener("mousemove", (event) => {
      if (!state.mode) return;
      state.cursor = fraction(event);
      draw();
    });
    canvas.addEventListener("mouseleave", () => { state.cursor = null; draw(); });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.mode) stopDrawing();
    });
    root.querySelectorAll("[data-mode]").forEach((el) => {
      el.addEventListener("click", () => startDrawing(el.dataset.mode));
    });
    if (cancelButton) cancelButton.addEventListener("click", stopDrawing);
    if (saveButton) saveButton.addEventListener("click", save);
    window.addEventListener("beforeunload", (event) => {
      if (state.dirty) event.preventDefault();
    });

    if (img) {
      const ready = () => { convertPixels(); size(); render(); };
      if (img.complete && img.naturalWidth) ready();
      else img.addEventListener("load", ready);
      img.addEventListener("error", () => {
        img.classList.add("hidden");
        root.querySelector(".an-editor").classList.add("empty");
        size();
      });
    }
    if (window.ResizeObserver) new ResizeObserver(size).observe(canvas);
    else window.addEventListener("resize", size);
    size();
    render();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
