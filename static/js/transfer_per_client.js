/* User Transfer: work with thousands of rows without a round trip. The page
   works without this file: every button below then posts the form and the
   server answers with the same result. */
(function () {
  "use strict";

  function plural(count, word) {
    return count.toLocaleString("en") + " " + word + (count === 1 ? "" : "s");
  }

  function setup(form) {
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-row]"));
    if (!rows.length) {
      return;
    }
    var entries = rows.map(function (row) {
      var cells = row.children;
      return {
        row: row,
        search: (cells[1].textContent + " " + cells[2].textContent).toLowerCase(),
        checkbox: cells[0].querySelector("input"),
        input: row.querySelector("input[data-assignment]")
      };
    });
    var datalist = document.getElementById(entries[0].input.getAttribute("list"));
    /* Each user of the list by what an administrator may type: the entry itself
       ("Dana Reyes (dana.reyes)"), the full name or the username, whatever the
       case. Anything else (an e-mail address) is left to the server. */
    var known = {};
    var named = {};
    function normalise(text) {
      return text.replace(/\s+/g, " ").trim().toLowerCase();
    }
    function addName(text, value) {
      var key = normalise(text);
      named[key] = named[key] || [];
      if (named[key].indexOf(value) === -1) {
        named[key].push(value);
      }
    }
    Array.prototype.forEach.call(datalist.options, function (option) {
      known[option.value] = true;
      var parts = option.value.match(/^(.*) \(([^()\s]+)\)$/);
      if (parts) {
        addName(parts[1], option.value);
        addName(parts[2], option.value);
      }
    });
    function usersNamed(text) {
      return known[text] ? [text] : named[normalise(text)] || [];
    }
    var assignStatus = form.querySelector("[data-assign-status]");
    var filterStatus = form.querySelector("[data-filter-status]");
    var filterInput = form.querySelector("input[data-row-filter]");
    var selectShown = form.querySelector("#id_select_shown");

    function say(text) {
      if (assignStatus) {
        assignStatus.textContent = text;
      }
    }

    /* The filter: rows whose client name or number contains the text. Hidden
       rows keep their assignment (and are still posted). */
    function applyFilter() {
      var query = filterInput.value.trim().toLowerCase();
      var shown = 0;
      entries.forEach(function (entry) {
        var match = !query || entry.search.indexOf(query) !== -1;
        entry.row.hidden = !match;
        if (match) {
          shown += 1;
        }
      });
      if (selectShown) {
        selectShown.checked = false;
      }
      filterStatus.textContent = "Showing " + shown.toLocaleString("en") + " of " + plural(entries.length, "client") + ".";
    }
    filterInput.addEventListener("input", applyFilter);
    filterInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        applyFilter();
      }
    });

    /* Filter buttons: the client filter runs here; the users' filter below. */
    form.querySelectorAll("button[value=filter]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        applyFilter();
        applyUserFilter();
      });
    });

    if (selectShown) {
      selectShown.addEventListener("change", function () {
        entries.forEach(function (entry) {
          if (!entry.row.hidden) {
            entry.checkbox.checked = selectShown.checked;
          }
        });
      });
    }

    /* "Assign to every client" and "Assign to selected clients". */
    form.querySelectorAll("button[data-assign]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        var source = form.querySelector(button.dataset.assign === "all" ? "#id_assign_all_to" : "#id_assign_selected_to");
        var value = source.value.trim();
        var found = usersNamed(value);
        if (value && !found.length) {
          return; // not a name or username of the list: the form goes to the server, which says
        }
        event.preventDefault();
        if (!value) {
          say("Choose a user first.");
          source.focus();
          return;
        }
        if (found.length > 1) {
          say("“" + value + "” names several users: " + found.join(", ") + ". Choose one from the list.");
          source.focus();
          return;
        }
        value = found[0];
        source.value = value;
        var targets = entries.filter(function (entry) {
          return button.dataset.assign === "all" || entry.checkbox.checked;
        });
        if (!targets.length) {
          say("Select the clients to assign first.");
          return;
        }
        var replaced = 0;
        targets.forEach(function (entry) {
          var before = entry.input.value.trim();
          if (before && before !== value) {
            replaced += 1;
          }
          entry.input.value = value;
        });
        say(plural(targets.length, "client") + " assigned to " + value.replace(/\s*\([^()]*\)$/, "") +
          (replaced ? ", replacing " + plural(replaced, "assignment") + " already made" : "") + ".");
      });
    });

    /* Filter of the users under "Distribute among". */
    var userFilter = form.querySelector("input[data-user-filter]");
    var userItems = Array.prototype.slice.call(form.querySelectorAll(".distribute-users li"));
    function applyUserFilter() {
      if (!userFilter) {
        return;
      }
      var query = userFilter.value.trim().toLowerCase();
      userItems.forEach(function (item) {
        // The label reads "Dana Reyes — 12 clients, …": filter on the name.
        var name = item.textContent.split(" — ")[0].toLowerCase();
        item.hidden = !!query && name.indexOf(query) === -1;
      });
    }
    if (userFilter) {
      userFilter.addEventListener("input", applyUserFilter);
      userFilter.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          applyUserFilter();
        }
      });
    }

    /* A row changed by hand after Distribute or Preview: their tables no
       longer describe the form; say so (Preview shows the new figures). */
    var table = form.querySelector("table.transfer-grid");
    table.addEventListener("input", function (event) {
      if (!event.target.matches("input[data-assignment]")) {
        return;
      }
      ["distribution-totals", "preview"].forEach(function (name) {
        var region = form.querySelector("[data-region=" + name + "]");
        if (region && region.querySelector("table") && !region.querySelector("[data-stale]")) {
          var note = document.createElement("p");
          note.className = "helptext";
          note.setAttribute("data-stale", "");
          note.textContent = "Rows changed since these figures: Preview shows what Save would move now.";
          region.appendChild(note);
        }
      });
    });

    /* Distribute and Preview ask the server (one algorithm, one engine) and
       take from its answer the rows' values and the regions it refreshes,
       leaving the filter, the ticks and the scroll position as they are. */
    form.querySelectorAll("button[data-refresh]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.fetch || !window.DOMParser) {
          return;
        }
        event.preventDefault();
        if (form.getAttribute("aria-busy") === "true") {
          return;
        }
        var body = new URLSearchParams(new FormData(form));
        body.set("action", button.value);
        form.setAttribute("aria-busy", "true");
        button.disabled = true;
        fetch(window.location.href, {method: "POST", body: body, credentials: "same-origin"})
          .then(function (response) {
            if (!response.ok) {
              throw new Error(response.status);
            }
            return response.text();
          })
          .then(function (html) {
            var answer = new DOMParser().parseFromString(html, "text/html");
            if (button.value === "distribute") {
              // What an earlier "Assign … to" said may no longer hold; the
              // answer says what Distribute filled, kept and replaced.
              say("");
              entries.forEach(function (entry) {
                var filled = answer.getElementById(entry.input.id);
                if (filled && filled.value) {
                  entry.input.value = filled.value;
                }
              });
            }
            ["errors", "distribution-totals", "preview"].forEach(function (name) {
              var mine = form.querySelector("[data-region=" + name + "]");
              var theirs = answer.querySelector("[data-region=" + name + "]");
              if (mine && theirs) {
                mine.innerHTML = theirs.innerHTML;
              }
            });
            var changed = answer.querySelector("input[name=client_ids]");
            var ids = form.querySelector("input[name=client_ids]");
            if (changed && changed.value !== ids.value) {
              // The list of clients changed meanwhile: let the server show the
              // current one, with its message.
              form.requestSubmit(button);
              return;
            }
            var region = form.querySelector("[data-region=" + (button.value === "preview" ? "preview" : "distribution-totals") + "]");
            var errors = form.querySelector("[data-region=errors] .form-errors");
            (errors || region).scrollIntoView({block: "nearest"});
          })
          .catch(function () {
            form.requestSubmit(button);
          })
          .finally(function () {
            form.removeAttribute("aria-busy");
            button.disabled = false;
          });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-per-client]").forEach(setup);
  });
})();
