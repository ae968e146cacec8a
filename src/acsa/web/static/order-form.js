/* acsa: check the order form as it is filled in. The form works without this file: its
   "Check now" button asks the server for the same check. Here the server is asked after a
   pause in typing, and its answer (an HTML fragment) replaces the check panel. */
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  var panel = document.getElementById("check");
  if (!form || !panel || !window.fetch || !window.FormData) { return; }
  var live = document.getElementById("check-live");
  var url = form.getAttribute("data-check");
  var timer = null;
  var asked = 0;
  function run() {
    var mine = ++asked;
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || mine !== asked) { return; }
        panel.innerHTML = html;
        // screen readers hear the one-line summary, not the whole panel at every pause
        var summary = panel.querySelector(".check-summary");
        if (live && summary && live.textContent !== summary.textContent) {
          live.textContent = summary.textContent;
        }
      })
      .catch(function () { /* the server is unreachable: the form still submits */ });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  var now = form.querySelector("button[name=op][value=check]");
  if (now) {
    now.addEventListener("click", function (e) { e.preventDefault(); run(); });
  }
}());
