// RouteMQ dashboard: a hash-routed single page over the JSON API at `api/…`.
// Every URL is relative, so the dashboard works wherever it is mounted: at a
// path ending in `/` they resolve as written; at `/jobs-admin` (axum's
// `Router::nest`) they go through the last segment (`jobs-admin/api/…`).
// The DOM is built with createElement and textContent only: nothing that comes
// from the API (queue names, job data, errors) is ever parsed as HTML.
(function () {
  "use strict";

  function meta(name) {
    const node = document.querySelector('meta[name="' + name + '"]');
    return node ? node.getAttribute("content") : "";
  }

  const BASE = location.pathname.endsWith("/") ? "" : location.pathname.split("/").pop() + "/";
  const CSRF_TOKEN = meta("csrf-token");
  const READ_ONLY = meta("routemq-read-only") === "true";
  const AUTH_MODE = meta("routemq-auth");
  const PAGE_SIZE = 50;
  const REFRESH_MS = 5000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const LISTED_STATES = ["ready", "delayed", "running", "waiting"];
  const FINISHED_STATES = ["succeeded", "failed", "cancelled"];
  const CANCELLABLE_STATES = ["waiting", "delayed", "ready", "running"];

  // Bumped on every navigation: answers that arrive for an older view are dropped.
  let generation = 0;
  let refreshTimer = null;

  // ---------------------------------------------------------------- DOM

  function setAttributes(node, attributes) {
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "on") {
        for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }

  function appendChildren(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  // An HTML element: el("td", {class: "num"}, "3"). Text children become text nodes.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attributes);
    appendChildren(node, children);
    return node;
  }

  // An SVG element, likewise.
  function svgEl(tag, attributes, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attributes);
    appendChildren(node, children);
    return node;
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- formatting

  function num(n) {
    return n === null || n === undefined ? "–" : Number(n).toLocaleString();
  }

  // " (counts from 12 s ago)" when the oldest shared count reading is older than
  // the 2 s the server serves one without asking for a newer one.
  function countsAge(rows) {
    const oldest = Math.max(0, ...(rows || []).map((r) => r.counted_ms_ago || 0));
    return oldest > 2000 ? " (counts from " + Math.round(oldest / 1000) + " s ago)" : "";
  }

  function dateTime(ms) {
    return ms === null || ms === undefined ? "–" : new Date(ms).toLocaleString();
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    const s = Math.round(ms / 1000);
    if (s < 60) return s + "s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m " + (s % 60) + "s";
    const h = Math.floor(m / 60);
    if (h < 48) return h + "h " + (m % 60) + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }

  function relative(ms) {
    if (ms === null || ms === undefined) return "–";
    const diff = ms - Date.now();
    return diff >= 0 ? "in " + duration(diff) : duration(-diff) + " ago";
  }

  function stateBadge(state) {
    const kind = { failed: "bad", cancelled: "bad", succeeded: "ok", running: "ok", paused: "paused" }[state] || "";
    return el("span", { class: "badge " + kind, "data-state": state }, state);
  }

  // ---------------------------------------------------------------- API

  async function api(path, method) {
    const init = { method: method || "GET", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (init.method !== "GET") init.headers["X-CSRF-Token"] = CSRF_TOKEN;
    const response = await fetch(BASE + "api/" + path, init);
    if (response.status === 401 && AUTH_MODE !== "none") {
      // The session ended: the page itself shows the login form (or the browser asks).
      location.reload();
      throw new Error("not logged in");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      throw new Error((body && body.error) || response.status + " " + response.statusText);
    }
    return body;
  }

  function notify(text, isError) {
    const notice = document.getElementById("notice");
    notice.textContent = text;
    notice.className = isError ? "notice error" : "notice";
    notice.hidden = false;
    clearTimeout(notify.timer);
    notify.timer = setTimeout(function () {
      notice.hidden = true;
    }, 6000);
  }

  // Runs a mutation from `button`: POST `path`, tell the outcome, then `after()`.
  async function act(button, path, describe, after) {
    button.disabled = true;
    try {
      const answer = await api(path, "POST");
      notify(describe(answer));
      await after();
    } catch (e) {
      notify(e.message, true);
      button.disabled = false;
    }
  }

  function button(attributes, label, onClick) {
    return el("button", Object.assign({ type: "button", on: { click: onClick } }, attributes), label);
  }

  // ---------------------------------------------------------------- shared pieces

  function pauseButton(queue, paused, after) {
    const path = "queues/" + enc(queue) + (paused ? "/resume" : "/pause");
    const attributes = paused
      ? { id: "resume-" + queue, class: "resume-button", "data-queue": queue }
      : { id: "pause-" + queue, class: "pause-button", "data-queue": queue };
    return button(attributes, paused ? "Resume" : "Pause", function (event) {
      act(event.currentTarget, path, function () {
        return (paused ? "Resumed " : "Paused ") + queue;
      }, after);
    });
  }

  function countCell(name, n) {
    return el("td", { class: "num", "data-count": name, "data-value": n }, num(n));
  }

  function card(name, label, value, shown) {
    return el(
      "div",
      { class: "card", "data-count": name, "data-value": value },
      el("div", { class: "label" }, label),
      el("div", { class: "value" }, shown === undefined ? num(value) : shown)
    );
  }

  function pager(page, hasMore, hashFor) {
    return el(
      "div",
      { class: "pager" },
      page > 1 ? el("a", { id: "prev-page", href: hashFor(page - 1) }, "← Newer") : el("span", { class: "muted" }, "← Newer"),
      el("span", { id: "page-number", "data-page": page }, "Page " + page),
      hasMore ? el("a", { id: "next-page", href: hashFor(page + 1) }, "Older →") : el("span", { class: "muted" }, "Older →")
    );
  }

  function table(id, headers, rows, emptyText) {
    if (!rows.length) return el("p", { class: "empty", id: id + "-empty" }, emptyText);
    return el(
      "table",
      { id: id },
      el("thead", {}, el("tr", {}, headers.map(function (h) {
        return el("th", { class: h.num ? "num" : null }, h.label === undefined ? h : h.label);
      }))),
      el("tbody", {}, rows)
    );
  }

  function jobLink(id, queue) {
    return el("a", { class: "mono", href: "#/jobs/" + enc(id) + (queue ? "?queue=" + enc(queue) : "") }, id);
  }

  function queueLink(queue) {
    return el("a", { href: "#/queues/" + enc(queue) }, queue);
  }

  // A bar chart of processed (green) and failed (red) jobs per point.
  function chart(id, title, series) {
    const width = 720;
    const height = 180;
    const left = 40;
    const right = 6;
    const top = 8;
    const bottom = 20;
    const points = series.points;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const max = Math.max(1, ...points.map(function (p) {
      return Math.max(p.processed, p.failed);
    }));
    const slot = plotWidth / Math.max(1, points.length);
    const barWidth = Math.max(0.5, slot * 0.42);
    const base = top + plotHeight;
    const y = function (v) {
      return base - (v / max) * plotHeight;
    };
    const drawing = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": title });
    drawing.appendChild(svgEl("line", { class: "axis", x1: left, x2: width - right, y1: base, y2: base }));
    drawing.appendChild(svgEl("text", { class: "tick", x: left - 4, y: top + 8, "text-anchor": "end" }, num(max)));
    drawing.appendChild(svgEl("text", { class: "tick", x: left - 4, y: base, "text-anchor": "end" }, "0"));
    points.forEach(function (p, i) {
      const x = left + i * slot + slot * 0.08;
      const group = svgEl(
        "g",
        { class: "point", "data-minute": p.minute, "data-processed": p.processed, "data-failed": p.failed },
        svgEl("title", {}, dateTime(p.at_ms) + ": " + p.processed + " processed, " + p.failed + " failed, " + p.retried + " retried")
      );
      if (p.processed > 0) {
        group.appendChild(svgEl("rect", { class: "bar processed", x: x, y: y(p.processed), width: barWidth, height: base - y(p.processed) }));
      }
      if (p.failed > 0) {
        group.appendChild(svgEl("rect", { class: "bar failed", x: x + barWidth, y: y(p.failed), width: barWidth, height: base - y(p.failed) }));
      }
      drawing.appendChild(group);
    });
    [0, Math.floor(points.length / 2), points.length - 1].forEach(function (i, n) {
      if (!points[i]) return;
      const anchor = ["start", "middle", "end"][n];
      drawing.appendChild(svgEl("text", { class: "tick", x: left + i * slot + (n === 2 ? slot : 0), y: height - 4, "text-anchor": anchor }, clock(points[i].at_ms)));
    });
    const totals = points.reduce(function (t, p) {
      return { processed: t.processed + p.processed, failed: t.failed + p.failed, retried: t.retried + p.retried };
    }, { processed: 0, failed: 0, retried: 0 });
    return el(
      "div",
      { class: "panel chart", id: id },
      el("h3", {}, title),
      drawing,
      el(
        "div",
        { class: "legend" },
        el("span", { "data-total": "processed", "data-value": totals.processed }, el("span", { class: "swatch processed" }), "processed " + num(totals.processed)),
        el("span", { "data-total": "failed", "data-value": totals.failed }, el("span", { class: "swatch failed" }), "failed " + num(totals.failed)),
        el("span", { "data-total": "retried", "data-value": totals.retried }, "retried " + num(totals.retried)),
        el("span", { "data-total": "failure-rate", "data-value": failureRate(totals) }, "failure rate " + percent(failureRate(totals)))
      )
    );
  }

  // Failed jobs over finished ones (processed + failed), 0–1; null when none finished.
  function failureRate(t) {
    const finished = t.processed + t.failed;
    return finished > 0 ? t.failed / finished : null;
  }

  function percent(rate) {
    return rate === null ? "–" : (rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 1) + " %";
  }

  function charts(history) {
    return el(
      "div",
      { class: "charts" },
      chart("chart-hour", "Last hour, per minute", history.hour),
      chart("chart-day", "Last 24 hours, per 15 minutes", history.day)
    );
  }

  // ---------------------------------------------------------------- pages

  // Overview: every queue's counts, pause/resume, throughput charts; refreshed every 5 s.
  async function overviewPage(ctx) {
    async function load() {
      const data = await api("overview");
      if (!isCurrent(ctx)) return;
      const columns = ["Queue", { label: "Ready", num: true }, { label: "Delayed", num: true }, { label: "Running", num: true }, { label: "Failed", num: true }, "Oldest ready", "Rate limit", "State"];
      if (!READ_ONLY) columns.push("");
      const rows = data.queues.map(function (q) {
        return el(
          "tr",
          { "data-queue": q.queue, class: "queue-row" },
          el("td", {}, queueLink(q.queue)),
          countCell("ready", q.ready),
          countCell("delayed", q.delayed),
          countCell("running", q.running),
          countCell("failed", q.failed),
          el("td", { "data-col": "oldest" }, duration(q.oldest_ready_age_ms)),
          el("td", { "data-col": "rate-limit" }, q.rate_limit ? q.rate_limit.text : "–"),
          el("td", { "data-col": "state" }, stateBadge(q.paused ? "paused" : "active")),
          READ_ONLY ? null : el("td", {}, pauseButton(q.queue, q.paused, load))
        );
      });
      const queuesTable = table("queues-table", columns, rows, "No queues yet: nothing has been pushed.");
      if (rows.length) {
        const t = data.totals;
        queuesTable.appendChild(el(
          "tfoot",
          {},
          el(
            "tr",
            { id: "totals-row" },
            el("td", {}, t.queues + (t.queues === 1 ? " queue" : " queues")),
            ["ready", "delayed", "running", "failed"].map(function (name) {
              return el("td", { class: "num", "data-total": name, "data-value": t[name] }, num(t[name]));
            }),
            el("td"),
            el("td"),
            el("td", {}, t.paused ? t.paused + " paused" : ""),
            READ_ONLY ? null : el("td")
          )
        ));
      }
      ctx.view.replaceChildren(
        el("h1", {}, "Queues"),
        el("div", { class: "panel" }, queuesTable),
        charts(data.history),
        el("p", { class: "muted", id: "updated-at" }, "Updated " + new Date().toLocaleTimeString() + countsAge(data.queues) + " · refreshes every 5 s · " + data.connection + " driver")
      );
    }
    await load();
    keepRefreshing(ctx, load);
  }

  // One queue: counts, charts, its jobs by state (50 a page), a search by id.
  async function queuePage(ctx) {
    const queue = ctx.parts[1] || "";
    const wanted = ctx.params.get("state");
    const state = LISTED_STATES.includes(wanted) ? wanted : "ready";
    const page = pageNumber(ctx);
    const hashFor = function (s, p) {
      return "#/queues/" + enc(queue) + "?state=" + s + "&page=" + p;
    };
    const [info, list] = await Promise.all([
      api("queues/" + enc(queue)),
      api("queues/" + enc(queue) + "/jobs?state=" + state + "&offset=" + (page - 1) * PAGE_SIZE + "&limit=" + PAGE_SIZE),
    ]);
    if (!isCurrent(ctx)) return;
    const q = info.queue;
    const counts = { ready: q.ready, delayed: q.delayed, running: q.running };
    const tabs = el("div", { class: "tabs", id: "job-tabs" }, LISTED_STATES.map(function (s) {
      const label = s.charAt(0).toUpperCase() + s.slice(1) + (counts[s] === undefined ? "" : " (" + num(counts[s]) + ")");
      return el("a", { class: "tab" + (s === state ? " active" : ""), "data-state": s, href: hashFor(s, 1) }, label);
    }));
    const timeHeader = { ready: "Available since", delayed: "Due", running: "Lease until", waiting: "Due" }[state];
    const rows = list.jobs.map(function (j) {
      const when = state === "running" ? j.lease_until_ms : j.due_at_ms;
      return el(
        "tr",
        { class: "job-row", "data-job-id": j.id },
        el("td", {}, jobLink(j.id, queue)),
        el("td", {}, j.name || "–"),
        el("td", { class: "num" }, j.attempts + (j.max_tries ? " / " + j.max_tries : "")),
        el("td", {}, dateTime(j.created_at_ms)),
        el("td", {}, when ? relative(when) : "–"),
        el("td", { class: "muted" }, j.envelope_error ? j.envelope_error : j.encrypted ? "encrypted" : j.codec || "")
      );
    });
    const search = el(
      "form",
      {
        id: "job-search",
        class: "actions",
        on: {
          submit: function (event) {
            event.preventDefault();
            const id = document.getElementById("job-search-input").value.trim();
            if (id) location.hash = "#/jobs/" + enc(id) + "?queue=" + enc(queue);
          },
        },
      },
      el("input", { id: "job-search-input", name: "id", type: "search", placeholder: "Job id", "aria-label": "Job id" }),
      el("button", { type: "submit", id: "job-search-button" }, "Open job")
    );
    ctx.view.replaceChildren(
      el("p", {}, el("a", { href: "#/" }, "← Queues")),
      el(
        "div",
        { class: "toolbar" },
        el("h1", { id: "queue-title", "data-queue": q.queue }, q.queue),
        stateBadge(q.paused ? "paused" : "active"),
        READ_ONLY ? null : pauseButton(q.queue, q.paused, render),
        el("span", { class: "spacer" }),
        search
      ),
      el(
        "div",
        { class: "cards", id: "queue-stats", "data-queue": q.queue },
        card("ready", "Ready", q.ready),
        card("delayed", "Delayed", q.delayed),
        card("running", "Running", q.running),
        card("failed", "Failed", q.failed),
        card("oldest", "Oldest ready", q.oldest_ready_age_ms, duration(q.oldest_ready_age_ms)),
        card("rate-limit", "Rate limit", q.rate_limit ? q.rate_limit.jobs : null, q.rate_limit ? q.rate_limit.text : "none")
      ),
      charts(info.history),
      el("h2", {}, "Jobs"),
      tabs,
      el(
        "div",
        { class: "panel" },
        table("jobs-table", ["Id", "Job", { label: "Attempts", num: true }, "Created", timeHeader, ""], rows, "No " + state + " jobs."),
        pager(page, list.has_more, function (p) {
          return hashFor(state, p);
        })
      )
    );
  }

  // One job: where it is, its attempts, progress, errors, data and result.
  async function jobPage(ctx) {
    const id = ctx.parts[1] || "";
    const queue = ctx.params.get("queue");
    async function load() {
      const data = await api("jobs/" + enc(id) + (queue ? "?queue=" + enc(queue) : ""));
      if (!isCurrent(ctx)) return null;
      const s = data.status;
      const job = data.job;
      const failed = data.failed;
      const fields = [
        ["id", "Id", s.id],
        ["queue", "Queue", queueLink(s.queue)],
        ["name", "Job", job && job.name ? job.name : "–"],
        ["state", "State", stateBadge(s.state)],
        ["attempts", "Attempts", attemptsText(s, job)],
        ["created", "Created", dateTime(job ? job.created_at_ms : null)],
        ["due", "Due", s.due_at_ms ? dateTime(s.due_at_ms) + " (" + relative(s.due_at_ms) + ")" : "–"],
        ["lease", "Lease until", s.lease_until_ms ? dateTime(s.lease_until_ms) : "–"],
        ["worker", "Worker", s.worker || "–"],
        ["timeout", "Timeout", job && job.timeout_ms ? duration(job.timeout_ms) : "–"],
        ["codec", "Codec", job && job.codec ? job.codec + (job.encrypted ? ", encrypted" : "") : "–"],
        ["finished", "Finished", dateTime(s.finished_at_ms || (failed ? failed.failed_at_ms : null))],
      ];
      if (s.cancel_requested) fields.push(["cancel", "Cancel", "requested: its worker is stopping it"]);
      const list = el("dl", { class: "fields", id: "job-fields" }, fields.map(function (f) {
        return [el("dt", {}, f[1]), el("dd", { "data-field": f[0] }, f[2])];
      }));
      const parts = [
        el("p", {}, queueLink(s.queue), " / job"),
        el("div", { class: "toolbar" }, el("h1", { id: "job-title", "data-job-id": s.id }, job && job.name ? job.name : "Job"), stateBadge(s.state), el("span", { class: "spacer" }), jobButtons(s, failed)),
        el("div", { class: "panel" }, list),
      ];
      if (s.progress) {
        parts.push(
          el("h2", {}, "Progress"),
          el(
            "div",
            { class: "panel" },
            el("progress", { id: "job-progress", max: 100, value: s.progress.percent }),
            el("p", { id: "job-progress-text" }, Math.round(s.progress.percent) + "%" + (s.progress.message ? " – " + s.progress.message : ""), el("span", { class: "muted" }, " (" + relative(s.progress.at_ms) + ")"))
          )
        );
      }
      const error = failed ? failed.error : s.last_error;
      if (error) {
        parts.push(el("h2", {}, failed ? "Error" : "Last error"), el("pre", { id: "job-error" }, error));
      }
      parts.push(el("h2", {}, "Data"), el("pre", { id: "job-payload" }, payloadText(job)));
      if (data.result !== null && data.result !== undefined) {
        parts.push(el("h2", {}, "Result"), el("pre", { id: "job-result" }, JSON.stringify(data.result, null, 2)));
      }
      ctx.view.replaceChildren(...parts);
      return s;
    }
    function attemptsText(s, job) {
      const max = s.max_tries || (job && job.max_tries) || "?";
      // The failed store does not keep the attempt count.
      if (s.state === "failed" && !s.attempts) return "not kept by the failed store (" + max + " allowed)";
      return s.attempts + " of " + max;
    }
    function payloadText(job) {
      if (!job) return "The backend no longer holds this job's data (a finished job keeps only its record).";
      if (job.envelope_error) return "The stored job cannot be read: " + job.envelope_error;
      if (job.encrypted) return "encrypted";
      if (job.data_error) return "The data cannot be decoded: " + job.data_error;
      return JSON.stringify(job.data, null, 2);
    }
    function jobButtons(s, failed) {
      if (READ_ONLY) return null;
      const queueParam = "?queue=" + enc(s.queue);
      const buttons = [];
      if (CANCELLABLE_STATES.includes(s.state) && !s.cancel_requested) {
        buttons.push(button({ id: "cancel-job", class: "danger", "data-id": s.id }, "Cancel job", function (event) {
          if (!confirm("Cancel this job?")) return;
          act(event.currentTarget, "jobs/" + enc(s.id) + "/cancel" + queueParam, function (a) {
            return "Cancel: " + a.outcome.replace("_", " ");
          }, render);
        }));
      }
      if (failed) {
        buttons.push(button({ id: "retry-job", class: "retry-button", "data-id": s.id }, "Retry", function (event) {
          act(event.currentTarget, "failed/" + enc(s.id) + "/retry", function () {
            return "Put back on " + s.queue;
          }, render);
        }));
        buttons.push(button({ id: "forget-job", class: "forget-button danger", "data-id": s.id }, "Forget", function (event) {
          if (!confirm("Delete this failed job for good?")) return;
          act(event.currentTarget, "failed/" + enc(s.id) + "/forget", function () {
            return "Forgotten";
          }, function () {
            location.hash = "#/failed";
          });
        }));
      }
      return el("div", { class: "actions" }, buttons);
    }
    const status = await load();
    if (status && !FINISHED_STATES.includes(status.state)) keepRefreshing(ctx, load);
  }

  // Failed jobs, newest first: filter by queue, retry or forget one or all.
  async function failedPage(ctx) {
    const queue = ctx.params.get("queue") || "";
    const page = pageNumber(ctx);
    const hashFor = function (q, p) {
      return "#/failed?" + (q ? "queue=" + enc(q) + "&" : "") + "page=" + p;
    };
    const [queues, list] = await Promise.all([
      api("queues"),
      api("failed?" + (queue ? "queue=" + enc(queue) + "&" : "") + "offset=" + (page - 1) * PAGE_SIZE + "&limit=" + PAGE_SIZE),
    ]);
    if (!isCurrent(ctx)) return;
    const names = queues.queues.map(function (q) {
      return q.queue;
    });
    if (queue && !names.includes(queue)) names.push(queue);
    const filter = el(
      "select",
      {
        id: "failed-queue-filter",
        "aria-label": "Queue",
        on: {
          change: function (event) {
            location.hash = hashFor(event.currentTarget.value, 1);
          },
        },
      },
      el("option", { value: "" }, "All queues"),
      names.map(function (name) {
        return el("option", { value: name, selected: name === queue }, name);
      })
    );
    const scope = queue ? " of " + queue : "";
    const bulk = READ_ONLY
      ? null
      : [
          button({ id: "retry-all", class: "primary" }, "Retry all" + scope, function (event) {
            if (!confirm("Put every failed job" + scope + " back on its queue?")) return;
            act(event.currentTarget, "failed/retry-all" + (queue ? "?queue=" + enc(queue) : ""), function (a) {
              return "Retried " + a.retried + " jobs";
            }, render);
          }),
          button({ id: "forget-all", class: "danger" }, "Forget all" + scope, function (event) {
            if (!confirm("Delete every failed job" + scope + " for good?")) return;
            act(event.currentTarget, "failed/forget-all" + (queue ? "?queue=" + enc(queue) : ""), function (a) {
              return "Forgot " + a.forgotten + " jobs";
            }, render);
          }),
        ];
    const columns = ["Id", "Queue", "Job", "Error", "Failed"];
    if (!READ_ONLY) columns.push("");
    const rows = list.jobs.map(function (f) {
      return el(
        "tr",
        { class: "failed-row", "data-id": f.id, "data-queue": f.queue },
        el("td", {}, jobLink(f.id, f.queue)),
        el("td", {}, queueLink(f.queue)),
        el("td", {}, f.name || "–"),
        el("td", { class: "error-text", title: f.error }, f.error),
        el("td", {}, relative(f.failed_at_ms)),
        READ_ONLY
          ? null
          : el(
              "td",
              {},
              el(
                "div",
                { class: "actions" },
                button({ class: "retry-button", "data-id": f.id }, "Retry", function (event) {
                act(event.currentTarget, "failed/" + enc(f.id) + "/retry", function () {
                  return "Put " + f.id + " back on " + f.queue;
                }, render);
              }),
              button({ class: "forget-button danger", "data-id": f.id }, "Forget", function (event) {
                if (!confirm("Delete failed job " + f.id + " for good?")) return;
                act(event.currentTarget, "failed/" + enc(f.id) + "/forget", function () {
                  return "Forgot " + f.id;
                }, render);
              })
              )
            )
      );
    });
    ctx.view.replaceChildren(
      el("h1", {}, "Failed jobs"),
      el("div", { class: "toolbar" }, filter, el("span", { class: "spacer" }), bulk),
      el(
        "div",
        { class: "panel" },
        table("failed-table", columns, rows, "No failed jobs" + scope + "."),
        pager(page, list.has_more, function (p) {
          return hashFor(queue, p);
        })
      )
    );
  }

  async function workersPage(ctx) {
    const data = await api("workers");
    if (!isCurrent(ctx)) return;
    const rows = data.workers.map(function (w) {
      return el(
        "tr",
        { class: "worker-row", "data-worker-id": w.id },
        el("td", { class: "mono", title: w.id }, w.id.slice(0, 13)),
        el("td", {}, w.host + " (" + w.pid + ")"),
        el("td", {}, w.queues.join(", ")),
        el("td", { class: "num" }, w.running + " / " + w.concurrency + (w.prefetch ? " (+" + w.prefetch + " ahead)" : "")),
        el("td", { class: "num" }, num(w.processed)),
        el("td", { class: "num" }, num(w.failed)),
        el("td", {}, relative(w.started_at_ms)),
        el("td", {}, relative(w.last_seen_ms))
      );
    });
    ctx.view.replaceChildren(
      el("h1", {}, "Workers"),
      el(
        "div",
        { class: "panel" },
        table("workers-table", ["Id", "Host (pid)", "Queues", { label: "Running", num: true }, { label: "Processed", num: true }, { label: "Failed", num: true }, "Started", "Last seen"], rows, "No live workers.")
      )
    );
    keepRefreshing(ctx, function () {
      return workersPage(ctx);
    });
  }

  async function schedulesPage(ctx) {
    const data = await api("schedules");
    if (!isCurrent(ctx)) return;
    const rows = data.schedules.map(function (s) {
      return el(
        "tr",
        { class: "schedule-row", "data-schedule": s.name },
        el("td", {}, s.name),
        el("td", { class: "mono" }, s.spec),
        el("td", {}, s.job),
        el("td", {}, queueLink(s.queue)),
        el("td", {}, dateTime(s.next_run_ms) + " (" + relative(s.next_run_ms) + ")"),
        el("td", {}, s.last_run_ms ? relative(s.last_run_ms) : "never"),
        el("td", {}, s.last_job_id ? jobLink(s.last_job_id, s.queue) : "–"),
        el("td", {}, s.missed)
      );
    });
    ctx.view.replaceChildren(
      el("h1", {}, "Schedules"),
      el("div", { class: "panel" }, table("schedules-table", ["Name", "When", "Job", "Queue", "Next run", "Last run", "Last job", "Missed ticks"], rows, "No schedules."))
    );
  }

  async function limitsPage(ctx) {
    const data = await api("limits");
    if (!isCurrent(ctx)) return;
    const rows = data.limits.map(function (l) {
      return el(
        "tr",
        { class: "limit-row", "data-queue": l.queue },
        el("td", {}, queueLink(l.queue)),
        el("td", { "data-col": "rate-limit" }, l.rate_limit ? l.rate_limit.text : "–"),
        el("td", { "data-col": "group-concurrency" }, l.group_concurrency ? l.group_concurrency + " per group" : "–")
      );
    });
    ctx.view.replaceChildren(
      el("h1", {}, "Rate limits"),
      el("div", { class: "panel" }, table("limits-table", ["Queue", "Jobs started", "Running at once"], rows, "No rate limits. Set one with `routemq limit set`."))
    );
  }

  function batchState(b) {
    if (b.cancelled_batch) return "cancelled";
    return b.finished_at_ms ? "finished" : "running";
  }

  async function batchesPage(ctx) {
    if (ctx.parts[1]) return batchPage(ctx, ctx.parts[1]);
    const data = await api("batches");
    if (!isCurrent(ctx)) return;
    const rows = data.batches.map(function (b) {
      return el(
        "tr",
        { class: "batch-row", "data-batch-id": b.id },
        el("td", {}, el("a", { class: "mono", href: "#/batches/" + enc(b.id) }, b.id)),
        el("td", {}, b.name || "–"),
        el("td", {}, queueLink(b.queue)),
        ["total", "pending", "succeeded", "failed", "cancelled"].map(function (name) {
          return countCell(name, b[name]);
        }),
        el("td", {}, stateBadge(batchState(b))),
        el("td", {}, relative(b.created_at_ms))
      );
    });
    ctx.view.replaceChildren(
      el("h1", {}, "Batches"),
      el(
        "div",
        { class: "panel" },
        table("batches-table", ["Id", "Name", "Queue", { label: "Total", num: true }, { label: "Pending", num: true }, { label: "Succeeded", num: true }, { label: "Failed", num: true }, { label: "Cancelled", num: true }, "State", "Created"], rows, "No batches.")
      )
    );
  }

  async function batchPage(ctx, id) {
    const b = await api("batches/" + enc(id));
    if (!isCurrent(ctx)) return;
    const state = batchState(b);
    const cancel =
      READ_ONLY || state !== "running"
        ? null
        : button({ id: "cancel-batch", class: "danger", "data-id": b.id }, "Cancel batch", function (event) {
            if (!confirm("Cancel this batch? Its jobs not yet started will not run.")) return;
            act(event.currentTarget, "batches/" + enc(b.id) + "/cancel", function () {
              return "Batch cancelled";
            }, render);
          });
    ctx.view.replaceChildren(
      el("p", {}, el("a", { href: "#/batches" }, "← Batches")),
      el("div", { class: "toolbar" }, el("h1", { id: "batch-title", "data-batch-id": b.id }, b.name || "Batch"), stateBadge(state), el("span", { class: "spacer" }), cancel),
      el(
        "div",
        { class: "cards", id: "batch-view", "data-batch-id": b.id },
        card("total", "Total", b.total),
        card("pending", "Pending", b.pending),
        card("succeeded", "Succeeded", b.succeeded),
        card("failed", "Failed", b.failed),
        card("cancelled", "Cancelled", b.cancelled)
      ),
      el(
        "div",
        { class: "panel" },
        el("progress", { id: "batch-progress", max: Math.max(1, b.total), value: b.total - b.pending }),
        el(
          "dl",
          { class: "fields", id: "batch-fields" },
          el("dt", {}, "Id"),
          el("dd", { "data-field": "id", class: "mono" }, b.id),
          el("dt", {}, "Queue"),
          el("dd", { "data-field": "queue" }, queueLink(b.queue)),
          el("dt", {}, "Failures"),
          el("dd", { "data-field": "allow-failures" }, b.allow_failures ? "allowed" : "cancel the batch"),
          el("dt", {}, "Created"),
          el("dd", { "data-field": "created" }, dateTime(b.created_at_ms)),
          el("dt", {}, "Finished"),
          el("dd", { "data-field": "finished" }, dateTime(b.finished_at_ms))
        )
      )
    );
    if (state === "running") {
      keepRefreshing(ctx, function () {
        return batchPage(ctx, id);
      });
    }
  }

  async function notFoundPage(ctx) {
    ctx.view.replaceChildren(el("h1", {}, "Not found"), el("p", {}, el("a", { href: "#/" }, "Back to the queues")));
  }

  // ---------------------------------------------------------------- routing

  const PAGES = {
    "": overviewPage,
    queues: queuePage,
    jobs: jobPage,
    failed: failedPage,
    workers: workersPage,
    schedules: schedulesPage,
    limits: limitsPage,
    batches: batchesPage,
  };

  function isCurrent(ctx) {
    return ctx.generation === generation;
  }

  function pageNumber(ctx) {
    return Math.max(1, parseInt(ctx.params.get("page") || "1", 10) || 1);
  }

  // Calls `load` every 5 s while the view is shown.
  function keepRefreshing(ctx, load) {
    if (!isCurrent(ctx) || refreshTimer !== null) return;
    refreshTimer = setInterval(function () {
      if (!isCurrent(ctx)) return;
      Promise.resolve(load()).catch(function (e) {
        notify(e.message, true);
      });
    }, REFRESH_MS);
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/";
    const at = raw.indexOf("?");
    const path = at < 0 ? raw : raw.slice(0, at);
    const query = at < 0 ? "" : raw.slice(at + 1);
    const parts = path.split("/").filter(Boolean).map(function (p) {
      try {
        return decodeURIComponent(p);
      } catch (_) {
        return p;
      }
    });
    return { parts: parts, params: new URLSearchParams(query) };
  }

  function render() {
    generation += 1;
    clearInterval(refreshTimer);
    refreshTimer = null;
    const route = parseHash();
    const section = route.parts[0] || "";
    for (const link of document.querySelectorAll("#nav a[data-nav]")) {
      link.classList.toggle("active", link.getAttribute("data-nav") === (section || "overview"));
    }
    const view = document.getElementById("view");
    const ctx = { parts: route.parts, params: route.params, view: view, generation: generation };
    view.replaceChildren(el("p", { class: "muted", id: "loading" }, "Loading…"));
    const page = PAGES[section] || notFoundPage;
    Promise.resolve(page(ctx)).catch(function (e) {
      if (!isCurrent(ctx)) return;
      view.replaceChildren(el("div", { class: "notice error", id: "load-error" }, e.message));
    });
  }

  function start() {
    document.getElementById("read-only-badge").hidden = !READ_ONLY;
    const logout = document.getElementById("logout-button");
    logout.hidden = AUTH_MODE !== "token";
    logout.addEventListener("click", function () {
      fetch(BASE + "logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": CSRF_TOKEN } }).finally(function () {
        location.reload();
      });
    });
    window.addEventListener("hashchange", render);
    render();
  }

  start();
})();
