// Recordings: say so when the browser cannot play a file (gone from the archive, a codec it lacks)
// instead of leaving a black box, and step through a camera's (or a cloud source's) files with PageUp/PageDown.
(() => {
  "use strict";

  document.addEventListener("DOMContentLoaded", () => {
    const player = document.querySelector('[data-testid="player"]');
    if (!player) return;
    player.addEventListener("error", () => {
      document.querySelector("[data-player-error]")?.classList.remove("hidden");
    });
    document.addEventListener("keydown", (event) => {
      if (event.target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.key === "PageUp" ? "previous-recording" : event.key === "PageDown" ? "next-recording" : null;
      const link = target && document.querySelector(`[data-testid="${target}"]`);
      if (link) {
        event.preventDefault();
        location.href = link.href;
      }
    });
  });
})();
