// The staff console's few behaviours, in plain JavaScript (no build step, no inline script:
// the pages' Content-Security-Policy allows scripts from this origin only).
//   - call-in: a picked customer or product fills the form;
//   - resolve: another part line; the customer's signature pad (a PNG data URL on submit);
//   - dispatch board: the 15-second refresh waits while the dispatcher is choosing.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-fill]");
    if (!pick) return;
    var form = pick.closest("form");
    if (!form) return;
    var values = JSON.parse(pick.getAttribute("data-fill"));
    Object.keys(values).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && values[name] !== null && values[name] !== undefined) field.value = values[name];
    });
    form.querySelectorAll(".matches").forEach(function (box) { box.innerHTML = ""; });
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-part]");
    if (!add) return;
    var rows = add.parentElement.querySelector("[data-part-rows]");
    var row = rows.querySelector("[data-part-row]").cloneNode(true);
    row.querySelector("select").value = "";
    row.querySelector("input").value = "1";
    rows.appendChild(row);
    row.querySelector("select").focus();
  });

  function signaturePad(canvas) {
    var form = canvas.closest("form");
    var image = form.elements.namedItem("customer_signature_image");
    var context = null;
    var drawing = false;
    var signed = false;

    function fit() {
      var ratio = window.devicePixelRatio || 1;
      var box = canvas.getBoundingClientRect();
      if (box.width === 0) return false;
      canvas.width = Math.round(box.width * ratio);
      canvas.height = Math.round(box.height * ratio);
      context = canvas.getContext("2d");
      context.scale(ratio, ratio);
      context.lineWidth = 2.5;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#14213d";
      signed = false;
      return true;
    }

    function at(event) {
      var box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (!context && !fit()) return;
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = at(event);
      context.beginPath();
      context.moveTo(p.x, p.y);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = at(event);
      context.lineTo(p.x, p.y);
      context.stroke();
      signed = true;
      event.preventDefault();
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    var clear = form.querySelector("[data-clear-signature]");
    if (clear) clear.addEventListener("click", function () { context = null; fit(); });
    var details = canvas.closest("details");
    if (details) details.addEventListener("toggle", function () { if (details.open) fit(); });
    form.addEventListener("submit", function () {
      image.value = signed ? canvas.toDataURL("image/png") : "";
    });
    fit();
  }

  function boardGuard() {
    document.addEventListener("change", function (event) {
      if (event.target.closest("#board") && event.target.matches("select")) {
        event.target.setAttribute("data-touched", "");
      }
    });
    document.addEventListener("htmx:beforeRequest", function (event) {
      var board = event.detail.elt;
      if (!board || board.id !== "board" || event.detail.requestConfig.verb !== "get") return;
      var active = document.activeElement;
      var choosing = active && board.contains(active) && active.matches("select, input");
      if (choosing || board.querySelector("select[data-touched]")) event.preventDefault();
    });
  }

  function start() {
    document.querySelectorAll("canvas[data-signature-pad]").forEach(signaturePad);
    boardGuard();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
