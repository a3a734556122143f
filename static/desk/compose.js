/* mailflow compose page: the standard response picker, contact lookup in the address
   fields, the signature preview. Plain JavaScript; without it the form still sends. */
(function () {
  "use strict";

  const form = document.getElementById("compose-form");
  if (!form || !window.fetch) return;
  const body = document.getElementById("compose-body");
  const token = (form.querySelector('input[name="csrfmiddlewaretoken"]') || {}).value;

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; });
  }

  // The body's cursor, remembered when focus leaves it for the picker.
  let cursor = { start: 0, end: 0 };
  function remember() { cursor = { start: body.selectionStart, end: body.selectionEnd }; }
  body.addEventListener("blur", remember);
  body.addEventListener("keyup", remember);
  body.addEventListener("click", remember);

  function insertAtCursor(text) {
    const before = body.value.slice(0, cursor.start);
    const after = body.value.slice(cursor.end);
    body.value = before + text + after;
    const at = before.length + text.length;
    body.focus();
    body.setSelectionRange(at, at);
    remember();
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Standard responses: search, pick with the arrow keys, Enter inserts at the cursor.
  const picker = document.getElementById("picker");
  const search = document.getElementById("picker-search");
  const list = document.getElementById("picker-list");

  function options() { return Array.from(list.querySelectorAll('[role="option"]')); }

  function render(data) {
    list.textContent = "";
    const groups = (data && data.groups) || [];
    if (!groups.length) {
      const none = document.createElement("p");
      none.className = "quiet";
      none.textContent = "No standard response matches.";
      list.appendChild(none);
      return;
    }
    groups.forEach(function (group) {
      const box = document.createElement("div");
      box.setAttribute("role", "group");
      const heading = document.createElement("h3");
      heading.textContent = group.name;
      heading.id = "picker-group-" + Math.random().toString(36).slice(2);
      box.setAttribute("aria-labelledby", heading.id);
      box.appendChild(heading);
      group.responses.forEach(function (response) {
        const option = document.createElement("button");
        option.type = "button";
        option.setAttribute("role", "option");
        option.dataset.response = response.id;
        option.textContent = response.title + (response.shortcut ? "  ·  " + response.shortcut : "");
        if (response.used) option.title = "Used " + response.used + "×";
        option.tabIndex = -1;
        box.appendChild(option);
      });
      list.appendChild(box);
    });
  }

  const load = debounce(function () {
    const url = form.dataset.responsesUrl + "?q=" + encodeURIComponent(search.value.trim());
    getJSON(url).then(render).catch(function () {});
  }, 150);

  function insertResponse(id) {
    const url = form.dataset.responseUrl.replace(/\/0\/$/, "/" + id + "/");
    const params = new URLSearchParams();
    if (form.dataset.forTicket) params.set("ticket", form.dataset.forTicket);
    const box = form.querySelector('select[name="ticketbox"]');
    if (box && box.value) params.set("ticketbox", box.value);
    fetch(url, { method: "POST", body: params, credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        picker.open = false;
        insertAtCursor(data.text);
      })
      .catch(function () {});
  }

  function move(from, step) {
    const all = options();
    if (!all.length) return;
    let index = all.indexOf(from) + step;
    if (index < 0) { search.focus(); return; }
    index = Math.min(index, all.length - 1);
    all[index].focus();
  }

  if (picker && search && list) {
    picker.addEventListener("toggle", function () {
      if (picker.open) { load(); search.focus(); }
    });
    search.addEventListener("input", load);
    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { move(null, 1); event.preventDefault(); }
      else if (event.key === "Enter") {
        const first = options()[0];
        if (first) insertResponse(first.dataset.response);
        event.preventDefault();
      } else if (event.key === "Escape") { picker.open = false; body.focus(); event.preventDefault(); }
    });
    list.addEventListener("keydown", function (event) {
      const option = event.target.closest('[role="option"]');
      if (!option) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        move(option, event.key === "ArrowDown" ? 1 : -1);
        event.preventDefault();
      } else if (event.key === "Escape") { picker.open = false; body.focus(); event.preventDefault(); }
    });
    list.addEventListener("click", function (event) {
      const option = event.target.closest('[role="option"]');
      if (option) insertResponse(option.dataset.response);
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyP") {
        if (document.activeElement === body) remember();
        picker.open = true;
        search.focus();
        event.preventDefault();
      }
    });
  }

  // Contact lookup: suggestions for the address being typed (after the last comma); the
  // suggestion keeps the addresses typed before it.
  const suggestions = document.getElementById("contact-suggestions");
  form.querySelectorAll('input[data-lookup]').forEach(function (input) {
    const lookup = debounce(function () {
      const value = input.value;
      const cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
      const head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
      const term = value.slice(cut + 1).trim();
      if (term.length < 2) return;
      getJSON(form.dataset.lookupUrl + "?q=" + encodeURIComponent(term)).then(function (data) {
        if (!data || input.value !== value) return;
        suggestions.textContent = "";
        data.results.forEach(function (result) {
          const option = document.createElement("option");
          option.value = head + result.label;
          option.label = result.name || result.address;
          suggestions.appendChild(option);
        });
      }).catch(function () {});
    }, 200);
    input.addEventListener("input", function (event) {
      // Choosing a suggestion fires input too; only typing asks the server.
      if (event.inputType && event.inputType !== "insertReplacementText") lookup();
    });
  });

  // Signature: show the chosen one under the text, as it will be sent.
  const select = form.querySelector('select[name="signature"]');
  const preview = document.getElementById("signature-preview");
  const data = document.getElementById("signature-bodies");
  const bodies = data ? JSON.parse(data.textContent) : {};
  function showSignature() {
    if (!select || !preview) return;
    const text = (bodies[select.value] || "").replace(/^\n+|\s+$/g, "");
    preview.textContent = !text || text.startsWith("--") ? text : "-- \n" + text;
    preview.hidden = !text;
  }
  if (select) select.addEventListener("change", showSignature);
  showSignature();

  // Reply on top of the quote: put the cursor at the start of the text.
  if (form.dataset.forTicket && body.value.startsWith("\n\n") && !form.querySelector(".errorlist")) {
    body.focus();
    body.setSelectionRange(0, 0);
    remember();
  }
})();
