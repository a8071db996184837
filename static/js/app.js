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

  /* Transfer in progress: poll the job's status every second, update the
     phase, counts, bar and elapsed time, and reload the page when the job
     has ended (the server then shows the receipt, the refusal or the
     failure). Without this script the page refreshes itself (meta refresh). */
  function followJob(container) {
    var elapsed = container.querySelector("[data-job-elapsed]");
    var bar = container.querySelector("[data-job-bar]");
    var seconds = elapsed ? parseInt(elapsed.dataset.jobElapsed, 10) || 0 : 0;
    var ticking = container.querySelector("[data-job-field=status_label]");
    function showElapsed() {
      if (elapsed) {
        elapsed.textContent = seconds + " s";
      }
    }
    function update(data) {
      container.querySelectorAll("[data-job-field]").forEach(function (field) {
        var value = data[field.dataset.jobField];
        if (value !== undefined && String(value) !== field.textContent) {
          field.textContent = value;
        }
      });
      if (bar) {
        bar.max = Math.max(data.total, 1);
        bar.value = data.moved;
        bar.textContent = data.moved + " of " + data.total;
      }
      seconds = data.elapsed_seconds;
      showElapsed();
    }
    function poll() {
      window.fetch(container.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store"
      }).then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      }).then(function (data) {
        // Ended, or started (a scheduled or queued job loses its Cancel): show the page anew.
        var started = container.dataset.status !== "running" && data.status !== container.dataset.status;
        if (!data.active || started) {
          window.location.assign(container.dataset.pageUrl);
          return;
        }
        update(data);
        window.setTimeout(poll, 1000);
      }).catch(function () {
        // A failed poll (a restarting server, a dropped connection): try again.
        window.setTimeout(poll, 2000);
      });
    }
    window.setInterval(function () {
      if (ticking) {
        seconds += 1;
        showElapsed();
      }
    }, 1000);
    window.setTimeout(poll, 500);
  }

  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-action-menu]").forEach(actionMenu);
    document.querySelectorAll("form[data-once]").forEach(guardSubmission);
    document.querySelectorAll("[data-job-progress]").forEach(followJob);
  });
})();
