/* CaseEngine: small enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* Forms marked data-once: a second submit while the first is in flight is
     ignored, and the submit buttons are disabled. They are disabled after the
     submit event so the clicked button's name and value are still sent. */
  function guardSubmission(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitting === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = "true";
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
          button.disabled = true;
        });
        form.setAttribute("aria-busy", "true");
      }, 0);
    });
  }

  /* Coming back to the page from the browser's history shows the form as it
     was left: make it usable again. */
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.submitting;
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
  });

  /* Action menus: a button with aria-expanded that shows and hides its list
     of links; Escape closes it and gives the focus back to the button. */
  function actionMenu(container) {
    var button = container.querySelector(".action-button");
    if (!button) {
      return;
    }
    function setOpen(open) {
      container.classList.toggle("open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    container.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && container.classList.contains("open")) {
        setOpen(false);
        button.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (!container.contains(event.target)) {
        setOpen(false);
      }
    });
  }

  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-action-menu]").forEach(actionMenu);
    document.querySelectorAll("form[data-once]").forEach(guardSubmission);
  });
})();
