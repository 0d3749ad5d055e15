/* The call page: call timer, keyboard shortcuts for the outcome form, callback fields. */
(function () {
  "use strict";
  var started = null;
  var ticker = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var shown = document.querySelector("[data-timer]");
    if (!shown || started === null) { return; }
    var seconds = Math.floor((Date.now() - started) / 1000);
    shown.textContent = pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
  }

  function startTimer() {
    if (started !== null) { return; }
    started = Date.now();
    var shown = document.querySelector("[data-timer]");
    if (shown) { shown.classList.add("running"); }
    ticker = window.setInterval(tick, 1000);
    tick();
  }

  function outcomeChosen() {
    var checked = document.querySelector("#outcome-choices input[type=radio]:checked");
    return checked ? checked.value : "";
  }

  function showCallback() {
    var show = outcomeChosen() === "call_back";
    document.querySelectorAll(".callback-field").forEach(function (el) {
      el.hidden = !show;
    });
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") { return true; }
    if (tag === "input") {
      var type = (target.getAttribute("type") || "text").toLowerCase();
      return type !== "radio" && type !== "checkbox";
    }
    return target.isContentEditable === true;
  }

  function focusField(id) {
    var field = document.getElementById(id);
    if (field) { field.focus(); return true; }
    return false;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    if (target.closest("[data-timer-start], #reveal-phone, #phone-tel")) { startTimer(); }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("#outcome-choices")) { showCallback(); }
  });

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("outcome-form");
    if (!form) { return; }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var next = document.getElementById("save-next");
      if (next) { event.preventDefault(); next.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (/^[1-9]$/.test(event.key)) {
      var radios = form.querySelectorAll("#outcome-choices input[type=radio]");
      var radio = radios[Number(event.key) - 1];
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        radio.focus();
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (event.key === "r") {
      if (focusField("id_reason_code")) { event.preventDefault(); }
    } else if (event.key === "n") {
      if (focusField("id_notes")) { event.preventDefault(); }
    } else if (event.key === "d") {
      if (focusField("id_callback_date")) { event.preventDefault(); }
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.target;
    if (target instanceof Element && target.querySelector && target.querySelector("#phone-tel")) {
      startTimer();
    }
    if (document.getElementById("phone-tel")) { startTimer(); }
    showCallback();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showCallback);
  } else {
    showCallback();
  }
  if (document.getElementById("phone-tel")) { startTimer(); }
}());
