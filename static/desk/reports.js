/* mailflow reports: the export progress page polls the export's status (JSON) and shows
   the progress bar, then the download link. Plain JavaScript; without it, reloading the
   page shows the same. */
(function () {
  "use strict";
  const box = document.querySelector("[data-export-status]");
  if (!box) return;
  const bar = box.querySelector("[data-progress]");
  const text = box.querySelector("[data-progress-text]");
  const state = box.querySelector("[data-state]");
  const link = box.querySelector("[data-download]");

  function show(status) {
    bar.value = status.progress;
    text.textContent = status.progress + " %";
    if (status.state === "done") {
      state.textContent = "Done: " + status.rows + " rows.";
      link.href = status.download;
      link.hidden = false;
      return true;
    }
    if (status.state === "failed") {
      state.textContent = "The export failed: " + status.error;
      return true;
    }
    state.textContent = "Writing the workbook… " + status.rows + " rows so far.";
    return false;
  }

  function poll() {
    fetch(box.dataset.exportStatus, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) { if (!show(status)) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
