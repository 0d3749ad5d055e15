// The customer and early-warning lists: "tick all on this page" ticks the page's rows, and
// ticking a row chooses "ticked customers" as the bulk action's scope. Delegated from the
// document, so it keeps working after htmx swaps the rows.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") {
      return;
    }
    var form = box.closest("#bulk-form");
    if (!form) {
      return;
    }
    if (box.classList.contains("pick-all")) {
      form.querySelectorAll('input[name="c"]').forEach(function (row) {
        row.checked = box.checked;
      });
    }
    var selected = form.querySelector('input[name="scope"][value="selected"]');
    if (selected && box.checked) {
      selected.checked = true;
    }
  });
})();
