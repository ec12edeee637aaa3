// The portal's only script. Pages work without it; it adds the Random
// buttons, the live activation-key format check, the trial-days toggle and
// the Copy buttons.
"use strict";
(function () {
  // Random keys leave out 0/O and 1/I, so they can be read over the phone.
  var KEY_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  var PASSWORD_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%+";
  var KEY_FORMAT = /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/;

  // Uniform choice: bytes past the largest multiple of the alphabet are redrawn.
  function randomText(chars, length) {
    var out = "", limit = 256 - (256 % chars.length), byte = new Uint8Array(1);
    while (out.length < length) {
      crypto.getRandomValues(byte);
      if (byte[0] < limit) out += chars[byte[0] % chars.length];
    }
    return out;
  }

  function checkKey(input) {
    var status = document.getElementById(input.getAttribute("data-key-check"));
    var value = input.value.trim().toUpperCase();
    var ok = value === "" || KEY_FORMAT.test(value);
    input.setCustomValidity(ok ? "" : "Use the format XXXX-XXXX-XXXX-XXXX");
    if (status) {
      status.textContent = value === "" ? "" :
        ok ? "The format is right." : "Not yet XXXX-XXXX-XXXX-XXXX (letters A–Z and digits 0–9).";
    }
  }

  function toggleTrial() {
    document.querySelectorAll("[data-shown-for]").forEach(function (block) {
      var checked = document.querySelector("input[name=kind]:checked");
      block.hidden = !checked || checked.value !== block.getAttribute("data-shown-for");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-random-key]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-random-key"));
        var raw = randomText(KEY_CHARS, 16);
        input.value = raw.match(/.{4}/g).join("-");
        checkKey(input);
        input.focus();
      });
    });
    document.querySelectorAll("[data-random-password]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-random-password"));
        input.value = randomText(PASSWORD_CHARS, 20);
        input.focus();
        input.select();
      });
    });
    document.querySelectorAll("[data-key-check]").forEach(function (input) {
      input.addEventListener("input", function () { checkKey(input); });
      checkKey(input);
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(source.textContent).then(done, function () {});
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
      });
    });
    // Each cell names its column, for the stacked cards of small screens.
    document.querySelectorAll(".table-wrap table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.querySelector(".visually-hidden") ? "" : th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (heads[i] && !cell.classList.contains("empty")) cell.setAttribute("data-label", heads[i]);
        });
      });
    });
    document.querySelectorAll("input[data-toggles]").forEach(function (radio) {
      radio.addEventListener("change", toggleTrial);
    });
    toggleTrial();
  });
})();
