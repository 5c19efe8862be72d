// A cloud source's folder picker: one level is listed per opened node (GET /api/v1/cloud/{provider}/
// list_folders?source_id=&parent=), so a drive with thousands of folders costs one call per click.
// The API syncs one folder per source (its `root`): ticking a folder unticks the others, and "Save"
// sends PATCH /api/v1/sources/{id} {"root": <the folder's id>} ("" is the whole drive).
(() => {
  "use strict";

  function nodeFor(folder, tree) {
    const li = document.createElement("li");
    li.className = "folder-node";
    li.dataset.testid = "folder-node";
    li.dataset.path = folder.id;
    li.dataset.loaded = "0";
    li.title = folder.path;
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link toggle";
    toggle.setAttribute("aria-expanded", "false");
    toggle.textContent = "▸";
    if (folder.hasChildren === false) {
      toggle.disabled = true;
      toggle.classList.add("leaf");
    }
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    // The saved root is the folder's id, or the path a person typed when adding the source.
    box.checked = [folder.id, folder.path].includes(tree.dataset.root);
    box.disabled = tree.dataset.editable !== "1";
    label.append(box, " ", folder.name);
    li.append(toggle, label);
    return li;
  }

  async function open(li, tree) {
    const toggle = li.querySelector(":scope > .toggle");
    let list = li.querySelector(":scope > ul");
    if (li.dataset.loaded === "1") {
      const hidden = list.classList.toggle("hidden");
      toggle.setAttribute("aria-expanded", String(!hidden));
      toggle.textContent = hidden ? "▸" : "▾";
      return;
    }
    list = document.createElement("ul");
    const note = document.createElement("li");
    note.className = "muted small";
    note.textContent = vt.t("js.sources.loading");
    list.append(note);
    li.append(list);
    toggle.disabled = true;
    const query = new URLSearchParams({ source_id: tree.dataset.sourceId });
    if (li.dataset.path) query.set("parent", li.dataset.path);
    try {
      const result = await vt.api("GET", `/api/v1/cloud/${encodeURIComponent(tree.dataset.provider)}/list_folders?${query}`);
      note.remove();
      for (const folder of result.data) list.append(nodeFor(folder, tree));
      if (!result.data.length) {
        note.textContent = vt.t("js.sources.no_folders");
        list.append(note);
      }
      li.dataset.loaded = "1";
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "▾";
    } catch (error) {
      list.remove();
      vt.toast(error.message || String(error), "error");
    } finally {
      toggle.disabled = false;
    }
  }

  function setup(tree) {
    tree.addEventListener("click", (event) => {
      const toggle = event.target.closest(".toggle");
      if (toggle && tree.contains(toggle)) open(toggle.closest(".folder-node"), tree);
    });
    tree.addEventListener("change", (event) => {
      if (event.target.type !== "checkbox" || !event.target.checked) return;
      tree.querySelectorAll('input[type="checkbox"]').forEach((box) => {
        if (box !== event.target) box.checked = false;
      });
    });
    const save = tree.parentElement.querySelector('[data-testid="save-folders"]');
    if (save) {
      save.addEventListener("click", async () => {
        const ticked = tree.querySelector('input[type="checkbox"]:checked');
        const root = ticked ? ticked.closest(".folder-node").dataset.path : "";
        save.disabled = true;
        try {
          await vt.api("PATCH", `/api/v1/sources/${encodeURIComponent(tree.dataset.sourceId)}`, { root });
          tree.dataset.root = root;
          vt.toast(vt.t("js.sources.folders_saved"));
        } catch (error) {
          vt.toast(error.message || String(error), "error");
        } finally {
          save.disabled = false;
        }
      });
    }
    const top = tree.querySelector(".folder-node");
    if (top) open(top, tree);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-folder-tree]").forEach(setup);
  });
})();
