// Analytics overview: live previews that fall back when a channel is not running, and the add-channel
// form's choice between a registered camera and an RTSP URL. Counts and the chart refresh through htmx.
(() => {
  "use strict";

  // The MJPEG stream answers 404 while the channel's worker is not running: try the last analysed frame,
  // then show a note. A counts event for the channel means its worker runs again: reconnect the stream.
  function watchPreview(img) {
    const card = img.closest("[data-channel-id]");
    const note = card && card.querySelector("[data-offline]");
    img.addEventListener("error", () => {
      if (img.dataset.state !== "frame") {
        img.dataset.state = "frame";
        img.src = `${img.dataset.frame}?t=${Date.now()}`;
        return;
      }
      img.dataset.state = "off";
      img.classList.add("hidden");
      if (note) note.classList.remove("hidden");
    });
    img.addEventListener("load", () => {
      if (img.dataset.state === "off") return;
      img.classList.remove("hidden");
      if (note) note.classList.add("hidden");
    });
  }

  const previewOf = (channelId) =>
    document.querySelector(`img[data-preview][data-channel="${CSS.escape(channelId)}"]`);

  function restart(img) {
    delete img.dataset.state;
    img.src = `${img.dataset.preview}&t=${Date.now()}`;
  }

  function reconnect(channelId) {
    const img = previewOf(channelId);
    if (img && img.dataset.state) restart(img); // on a fallback: the worker runs again
  }

  // The stream ends when the channel's worker is replaced (new lines, a restart): a card whose refreshed
  // health names another run reconnects its preview.
  function checkRun(live) {
    const img = previewOf(live.dataset.channel || "");
    if (!img || !live.dataset.run || live.dataset.run === img.dataset.run) return;
    img.dataset.run = live.dataset.run;
    restart(img);
  }

  function sourceChoice(form) {
    const apply = () => {
      const chosen = form.querySelector('input[name="source_kind"]:checked');
      const kind = chosen ? chosen.value : "url";
      form.querySelectorAll("[data-source]").forEach((group) => {
        const on = group.dataset.source === kind;
        group.hidden = !on;
        // Disabled fields are left out of the JSON: never both camera_id and url.
        group.querySelectorAll("input, select").forEach((el) => { el.disabled = !on; });
      });
    };
    form.addEventListener("change", (event) => {
      if (event.target.name === "source_kind") apply();
    });
    apply();
  }

  function init() {
    document.querySelectorAll("img[data-preview]").forEach(watchPreview);
    document.querySelectorAll("form.an-add-form").forEach(sourceChoice);
    // After an outerHTML swap the event's target is the replaced element: look at every card instead.
    document.body.addEventListener("htmx:afterSettle", () => {
      document.querySelectorAll(".an-live[data-channel]").forEach(checkRun);
    });
    document.addEventListener("vt:counts", (event) => {
      if (event.detail && event.detail.id) reconnect(event.detail.id);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
