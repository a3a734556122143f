/* mailflow agent workspace: keyboard shortcuts, message frames, list selection, presence.
   Plain JavaScript, no build step; every feature degrades to plain links and forms. */
(function () {
  "use strict";

  function typing(event) {
    const el = event.target;
    return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
  }

  // Message frames: sized to their content (same-origin, scripts off inside), and
  // "Show images" reloads a frame with remote images allowed.
  function fit(frame) {
    try {
      const doc = frame.contentDocument;
      if (doc && doc.body) {
        frame.style.height = Math.min(Math.max(doc.body.scrollHeight + 20, 60), 4000) + "px";
      }
    } catch (e) { /* not ours to read: keep the CSS height */ }
  }
  document.querySelectorAll("iframe[data-body]").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
  });
  document.querySelectorAll("[data-show-images]").forEach(function (button) {
    button.addEventListener("click", function () {
      const frame = document.querySelector('iframe[data-body="' + button.dataset.showImages + '"]');
      if (frame) {
        frame.src = frame.src.split("?")[0] + "?images=1";
        button.disabled = true;
        button.textContent = "Images shown";
      }
    });
  });

  // Lists: select all, j/k to move, x to select, Enter to open.
  const rows = Array.from(document.querySelectorAll("tr[data-row]"));
  let current = -1;
  function select(index) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("selected");
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("selected");
    rows[current].scrollIntoView({ block: "nearest" });
  }
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="tickets"]').forEach(function (box) { box.checked = all.checked; });
    });
  }

  // Shortcuts: elements carry data-key (click it) or data-key-focus (focus it).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    const key = event.key;
    if (key === "?") { const help = document.getElementById("keys"); if (help) help.showModal(); event.preventDefault(); return; }
    if (key === "/") { const box = document.getElementById("search-box"); if (box) { box.focus(); box.select(); event.preventDefault(); } return; }
    if (rows.length && (key === "j" || key === "k")) { select(current + (key === "j" ? 1 : -1)); event.preventDefault(); return; }
    if (rows.length && current >= 0 && key === "x") { const box = rows[current].querySelector('input[type="checkbox"]'); if (box) box.checked = !box.checked; return; }
    if (rows.length && current >= 0 && key === "Enter") { const link = rows[current].querySelector("a[data-open]"); if (link) link.click(); return; }
    const ticket = document.querySelector("[data-ticket]");
    if (ticket && (key === "j" || key === "k")) {
      const link = document.querySelector(key === "j" ? "a[data-next]" : "a[data-previous]");
      if (link) link.click();
      return;
    }
    const target = document.querySelector('[data-key="' + key + '"]');
    if (target) { target.click(); event.preventDefault(); return; }
    const field = document.querySelector('[data-key-focus="' + key + '"]');
    if (field) { field.focus(); event.preventDefault(); }
  });

  // Presence: tell the server this agent is looking at (or replying to) the ticket, and
  // show who else is.
  const ticket = document.querySelector("[data-presence-url]");
  if (ticket && window.fetch) {
    const url = ticket.dataset.presenceUrl;
    const token = (document.querySelector('input[name="csrfmiddlewaretoken"]') || {}).value;
    const composing = document.querySelector("form.compose") ? "1" : "0";
    const note = document.getElementById("presence");
    function beat() {
      const body = new URLSearchParams({ composing: composing });
      fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": token }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !note) return;
          const others = data.others || [];
          note.hidden = others.length === 0;
          note.textContent = others.map(function (o) {
            return o.name + (o.composing ? " is writing a reply" : " has this ticket open");
          }).join("; ");
        })
        .catch(function () {});
    }
    beat();
    setInterval(beat, 15000);
  }
})();
