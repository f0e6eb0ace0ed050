// ferry: follows a running deployment's log on its page, by server-sent
// events, or by asking every two seconds when the events do not arrive (a
// proxy that holds them back). Without it the page still works: reloading
// it shows the new lines.
// On the dashboard, shows what changed as deployments are recorded or
// change state: the server says when, and the page asks for itself anew
// and puts in its lists, locks and matrix (the filters as they are),
// except a part where someone is typing into a form.
// On a deployment's page, when its state changes, what it waits for (and
// the decision buttons) is taken anew from the page the same way.

// Whether someone is busy with a form in `region`: it holds the focus, or
// a field changed from what the page came with.
function ferryBusy(region) {
  "use strict";
  var focused = document.activeElement;
  if (focused && focused !== document.body && region.contains(focused)) {
    return true;
  }
  return Array.prototype.some.call(region.querySelectorAll("input, select, textarea"), function (field) {
    if (field.type === "hidden") {
      return false;
    }
    if (field.tagName === "SELECT") {
      // The option the page came with selected, else the first.
      var initial = 0;
      Array.prototype.forEach.call(field.options, function (option, index) {
        if (option.defaultSelected) {
          initial = index;
        }
      });
      return field.selectedIndex !== initial;
    }
    return field.value !== field.defaultValue;
  });
}

// Asks for the page anew and puts in the parts named by `ids` that nobody
// is busy with; answers a promise.
function ferryRefresh(url, ids) {
  "use strict";
  return fetch(url, { credentials: "same-origin" })
    .then(function (answer) {
      if (!answer.ok) {
        throw new Error("HTTP " + answer.status);
      }
      return answer.text();
    })
    .then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      ids.forEach(function (id) {
        var old = document.getElementById(id);
        var now = fresh.getElementById(id);
        if (old && now && !ferryBusy(old)) {
          old.replaceWith(now);
        }
      });
    });
}

(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.liveDashboard || !window.EventSource || !window.DOMParser) {
    return;
  }
  var asking = false;
  var again = false;
  function refresh() {
    if (asking) {
      again = true;
      return;
    }
    asking = true;
    ferryRefresh(window.location.href, ["lists-of-dashboard", "locks-of-dashboard", "matrix-of-dashboard"])
      .then(function () {
        live.textContent = "Shown as of " + new Date().toLocaleTimeString() + ".";
      })
      .catch(function () {})
      .then(function () {
        asking = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  var source = new EventSource("/dashboard/stream");
  live.textContent = "Showing changes as they happen.";
  source.addEventListener("changed", refresh);
})();

(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || log.dataset.live !== "true") {
    return;
  }
  var id = log.dataset.deployment;
  var after = Number(log.dataset.after) || 0;
  var note = document.getElementById("log-state");
  var status = document.getElementById("status");
  var source = null;
  var polling = false;
  var quiet = null;
  var failures = 0;

  function append(line) {
    if (line.id <= after) {
      return;
    }
    after = line.id;
    var stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    var span = document.createElement("span");
    span.className = line.stream === "stderr" ? "line stderr" : "line";
    span.textContent = "[" + line.target + (line.step ? " " + line.step : "") + "] " + line.line;
    log.appendChild(span);
    log.appendChild(document.createTextNode("\n"));
    if (stick) {
      log.scrollTop = log.scrollHeight;
    }
  }

  function show(state) {
    var changed = status.className !== "state state-" + state;
    status.textContent = state.replace(/_/g, " ");
    status.className = "state state-" + state;
    // What it waits for (if anything) changes with its state.
    if (changed && window.DOMParser) {
      ferryRefresh(window.location.pathname, ["pause-of-deployment"]).catch(function () {});
    }
  }

  function ended(state) {
    show(state);
    note.textContent = "The deployment has ended (" + state.replace(/_/g, " ") + ").";
    polling = false;
    clearTimeout(quiet);
    if (source) {
      source.close();
    }
    // Its buttons change with its end: no Cancel, and Roll back for those
    // who may (the page holds its form, hidden while it runs).
    var cancel = document.getElementById("cancel-form");
    if (cancel) {
      cancel.remove();
    }
    var rollBack = document.getElementById("rollback-form");
    if (rollBack) {
      rollBack.hidden = false;
    }
  }

  // The server says something at least every 15 seconds: silence for
  // longer means the events are held back somewhere.
  function watch() {
    clearTimeout(quiet);
    quiet = setTimeout(poll, 35000);
  }

  function poll() {
    if (polling) {
      return;
    }
    polling = true;
    if (source) {
      source.close();
    }
    note.textContent = "Following the log by asking every two seconds.";
    (function next() {
      if (!polling) {
        return;
      }
      fetch("/deployments/" + id + "/log?after=" + after, { credentials: "same-origin" })
        .then(function (answer) {
          if (!answer.ok) {
            throw new Error("HTTP " + answer.status);
          }
          return answer.json();
        })
        .then(function (page) {
          page.lines.forEach(append);
          show(page.status);
          if (page.ended) {
            ended(page.status);
          } else {
            setTimeout(next, 2000);
          }
        })
        .catch(function () {
          setTimeout(next, 5000);
        });
    })();
  }

  if (!window.EventSource) {
    poll();
    return;
  }
  source = new EventSource("/deployments/" + id + "/log/stream?after=" + after);
  note.textContent = "Following the log live.";
  watch();
  source.onopen = function () {
    failures = 0;
  };
  source.addEventListener("log", function (event) {
    watch();
    append(JSON.parse(event.data));
  });
  source.addEventListener("status", function (event) {
    watch();
    show(event.data);
  });
  source.addEventListener("ping", watch);
  source.addEventListener("end", function (event) {
    ended(event.data);
  });
  // A stream refused or cut twice in a row, without an event between,
  // will not carry the log: ask for it instead.
  source.onerror = function () {
    failures += 1;
    if (source.readyState === EventSource.CLOSED || failures >= 2) {
      poll();
    }
  };
})();
