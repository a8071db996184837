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

  /* "Assign all to": fill every row's select at once, without a round trip.
     Without JavaScript the same button asks the server to do it. */
  function assignAll(button) {
    button.addEventListener("click", function (event) {
      var form = button.form;
      var source = form.querySelector("#" + button.dataset.assignAll);
      if (!source) {
        return;
      }
      event.preventDefault();
      if (!source.value) {
        source.focus();
        return;
      }
      var selects = form.querySelectorAll("select[data-assignment]");
      selects.forEach(function (select) {
        select.value = source.value;
      });
      var status = form.querySelector("[data-assign-status]");
      if (status) {
        // The option reads "Dana Reyes — 12 clients, …": name the person only.
        var name = source.options[source.selectedIndex].text.split(" — ")[0];
        status.textContent = selects.length + " client" + (selects.length === 1 ? "" : "s") + " assigned to " + name + ".";
      }
    });
  }

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
        if (!data.active) {
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
    document.querySelectorAll("button[data-assign-all]").forEach(assignAll);
    document.querySelectorAll("[data-job-progress]").forEach(followJob);
  });
})();
