// chainrule board: the page (the run table, live polling, one run's details). Plain JavaScript, no build
// step; the charts are in charts.js.
// Every text that comes from a run's files goes into the page through textContent, never innerHTML:
// a run's folder name can be anything.
"use strict";

const RUN_POLL_MS = 2000;      // /api/runs: new runs appear, statuses change
const METRICS_POLL_MS = 1000;  // /api/metrics for the runs shown: a new epoch within 2 s
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#7f7f7f", "#bcbd22"];
const PICTURE_NAMES = ["curves.png", "confusion.png", "weights.png", "diagnostics.png"];

const board = window.board = {
  root: "", runs: [], byId: new Map(), loaded: false,
  sort: {key: "date", dir: -1}, filter: "",
  selected: [],          // ids ticked for comparison, in the order they were ticked
  colours: new Map(),    // id -> colour, kept while it stays selected
  detail: null,          // the id whose details are open
  detailInfo: null,      // its /api/run answer
  data: new Map(),       // id -> {metrics: [], diagnostics: [], status, updated, busy}
  charts: {},            // the uPlot instances: loss, acc, delta, update, frac (for the tests too)
  chartKeys: {},
};

// ------------------------------------------------------------------ small helpers
const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const pct = (v) => (isNum(v) ? (100 * v).toFixed(1) + "%" : "–");
const num = (v) => (isNum(v) ? v.toLocaleString("en-US") : "–");
const compact = (v) => (!isNum(v) ? "–" : v >= 1e6 ? +(v / 1e6).toPrecision(3) + "M"
                        : v >= 1e4 ? +(v / 1e3).toPrecision(3) + "k" : num(v));
const short = (v) => (isNum(v) ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2)
                                                                                      : String(+v.toPrecision(4))) : "–");

function runDate(run) {
  if (run.started) { const t = Date.parse(run.started); if (!Number.isNaN(t)) return t; }
  return isNum(run.updated) ? run.updated * 1000 : null;
}

function showDate(ms, full = false) {  // today's runs by their time, older ones by their day; full: both
  if (ms === null) return "–";
  const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const time = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (full) return `${day} ${time}`;
  return day === showDate(Date.now(), true).slice(0, 10) ? time : day;
}

function fileUrl(id, name, version) {  // version: the run's last change, so that a redrawn picture is fetched again
  const path = "/files/" + id.split("/").map(encodeURIComponent).join("/") + "/" + encodeURIComponent(name);
  return isNum(version) ? `${path}?v=${version}` : path;
}

async function getJSON(path, params) {
  const url = params ? path + "?" + new URLSearchParams(params) : path;
  const response = await fetch(url, {cache: "no-store"});
  const body = await response.json();
  if (!response.ok) throw new Error(body && body.error ? body.error : `${url}: HTTP ${response.status}`);
  return body;
}

function heartbeat(error) {
  const t = new Date().toLocaleTimeString("en-GB");
  $("heartbeat").textContent = error ? `⚠ ${error} (${t})` : `live · checked ${t}`;
  $("heartbeat").classList.toggle("error", Boolean(error));
}

function loop(step, ms) {  // setTimeout after each step ends, so that slow answers never pile up
  const go = async () => {
    try { await step(); } catch (e) { heartbeat(e.message); }
    setTimeout(go, ms);
  };
  go();
}

// ------------------------------------------------------------------ the run table
function visibleRuns() {
  const f = board.filter.trim().toLowerCase();
  const rows = board.runs.filter((r) => !f || [r.id, r.dataset, r.model, r.status]
    .some((v) => typeof v === "string" && v.toLowerCase().includes(f)));
  const {key, dir} = board.sort;
  const value = (r) => (key === "date" ? runDate(r) : r[key]);
  return rows.sort((a, b) => {
    const x = value(a), y = value(b);
    if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;  // blanks last
    if (y === null || y === undefined) return -1;
    return dir * (typeof x === "string" ? x.localeCompare(y) : x - y);
  });
}

function badge(status) {
  return el("span", {class: `badge status-${status || "unknown"}`, text: status || "?"});
}

function buildRow(r, picked) {  // one run's row of the table: its tick, name, figures, status and date
  const box = el("input", {type: "checkbox", title: "compare", "aria-label": `compare ${r.id}`});
  box.checked = picked;
  box.addEventListener("click", (e) => e.stopPropagation());
  box.addEventListener("change", () => toggleSelected(r.id, box.checked));
  const swatch = el("span", {class: "swatch"});
  if (picked) swatch.style.background = board.colours.get(r.id);
  const name = el("td", {class: "name"}, swatch, el("span", {text: r.id}));
  if (r.diagnostics) name.append(el("span", {class: "tag", text: "diag", title: "diagnostics.jsonl present"}));
  if (r.warnings) name.append(el("span", {class: "tag warn", text: `⚠ ${r.warnings}`, title: "warnings"}));
  const epochs = isNum(r.epochs_planned) ? `${num(r.epochs)}/${num(r.epochs_planned)}` : num(r.epochs);
  const state = el("td", {class: "state"}, badge(r.status));
  if (r.status !== "finished") state.append(el("span", {class: "progress", text: `epoch ${epochs}`}));
  const tr = el("tr", {class: r.id === board.detail ? "open" : "", title: `${r.id}: click for details`},
    el("td", {class: "pick"}, box), name,
    el("td", {text: r.dataset ?? "–"}), el("td", {class: "model", text: r.model ?? "–"}),
    el("td", {class: "num", text: compact(r.parameters), title: `${num(r.parameters)} parameters`}),
    el("td", {class: "num", text: pct(r.best_val_accuracy)}), el("td", {class: "num", text: pct(r.test_accuracy)}),
    state, el("td", {class: "date", text: showDate(runDate(r)), title: showDate(runDate(r), true)}));
  tr.dataset.id = r.id;
  tr.tabIndex = 0;  // reachable with Tab; Enter opens it as a click does
  tr.addEventListener("click", () => openDetail(r.id));
  tr.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.target === tr) openDetail(r.id); });
  return tr;
}

function renderTable() {
  const blank = board.loaded && board.runs.length === 0;
  $("blank").hidden = !blank;
  if (blank) {
    $("blank").replaceChildren("no runs under ", el("code", {text: board.root || "RUNS"}),
                               " yet — start one with ", el("code", {text: "chainrule train"}));
  }
  $("runs").hidden = blank;
  const rows = visibleRuns();
  // Rebuilt only when something shown changed, so that a click is never lost to a poll's redraw.
  const signature = JSON.stringify([rows, board.selected, [...board.colours], board.detail, board.sort, board.runs.length]);
  if (signature === board.tableSignature) return;
  board.tableSignature = signature;
  $("count").textContent = board.loaded ? `${rows.length} of ${board.runs.length} runs` : "loading…";
  for (const th of document.querySelectorAll("#runs th[data-key]")) {
    th.classList.toggle("sorted", th.dataset.key === board.sort.key);
    th.dataset.dir = board.sort.dir > 0 ? "▲" : "▼";
  }
  // A row is built again only when what it shows changed (in headless Chromium 1,000 rows took 125 ms to
  // build, 34 ms to check and reorder).
  const cache = board.rowCache || (board.rowCache = new Map());
  const body = rows.map((r) => {
    const picked = board.selected.includes(r.id);
    const key = JSON.stringify([r, picked, board.colours.get(r.id), r.id === board.detail]);
    const hit = cache.get(r.id);
    if (hit && hit.key === key) return hit.tr;
    const tr = buildRow(r, picked);
    cache.set(r.id, {key, tr});
    return tr;
  });
  for (const id of cache.keys()) if (!board.byId.has(id)) cache.delete(id);
  if (!rows.length && board.runs.length) {
    body.push(el("tr", {}, el("td", {colspan: "9", class: "muted", text: "no run matches the filter"})));
  }
  document.querySelector("#runs tbody").replaceChildren(...body);
}

function toggleSelected(id, on) {
  board.selected = board.selected.filter((x) => x !== id);
  if (on) {
    board.selected.push(id);
    const used = new Set(board.selected.map((x) => board.colours.get(x)));
    board.colours.set(id, PALETTE.find((c) => !used.has(c)) || PALETTE[board.selected.length % PALETTE.length]);
  } else {
    board.colours.delete(id);
  }
  renderTable();
  drawComparison();
  pollMetrics();
}

async function refreshRuns() {
  const answer = await getJSON("/api/runs");
  board.root = answer.root;
  board.runs = answer.runs;
  board.byId = new Map(answer.runs.map((r) => [r.id, r]));
  board.loaded = true;
  board.listPolls = (board.listPolls || 0) + 1;
  $("root").textContent = `RUNS: ${answer.root}`;
  const gone = board.selected.filter((id) => !board.byId.has(id));
  for (const id of gone) toggleSelected(id, false);
  if (board.detail && !board.byId.has(board.detail)) closeDetail();
  renderTable();
  // The open run's details again when its files changed: the epochs so far and the warnings saved
  // with its state while it runs; its summary, then its pictures one by one, at the end.
  const open = board.detail && board.byId.get(board.detail);
  if (open && board.detailInfo && (open.status !== board.detailInfo.status || open.updated !== board.detailUpdated)) {
    await loadDetail(board.detail);
  }
  heartbeat(null);
}

// ------------------------------------------------------------------ the metrics of the runs shown
function shownIds() {
  return [...new Set([...board.selected, ...(board.detail ? [board.detail] : [])])];
}

function merge(list, lines) {  // a line written again for an epoch replaces the first
  const byEpoch = new Map(list.map((l) => [l.epoch, l]));
  for (const l of lines) if (isNum(l.epoch)) byEpoch.set(l.epoch, l);
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

async function fetchMetrics(id) {
  let entry = board.data.get(id);
  const run = board.byId.get(id);
  if (entry && run && isNum(run.epochs) && run.epochs < entry.metrics.length) entry = null;  // rewritten (resumed)
  if (entry && (entry.busy || (run && run.status !== "running" && entry.status === run.status
                               && entry.updated >= run.updated))) return false;
  if (!entry) { entry = {metrics: [], diagnostics: [], status: null, updated: 0}; board.data.set(id, entry); }
  entry.busy = true;
  try {
    const after = entry.metrics.length ? entry.metrics[entry.metrics.length - 1].epoch : 0;
    const answer = await getJSON("/api/metrics", {id, after});
    const before = entry.metrics.length + entry.diagnostics.length;
    entry.metrics = merge(entry.metrics, answer.metrics || []);
    entry.diagnostics = merge(entry.diagnostics, answer.diagnostics || []);
    const changed = entry.status !== answer.status || entry.metrics.length + entry.diagnostics.length !== before;
    entry.status = answer.status;
    entry.updated = answer.updated;
    return changed;
  } finally {
    entry.busy = false;
  }
}

async function pollMetrics() {
  const ids = shownIds().filter((id) => board.byId.has(id));
  const changed = await Promise.all(ids.map((id) => fetchMetrics(id)));
  if (changed.some(Boolean)) {
    drawComparison();
    if (board.detail) drawDiagnostics();
  }
}

// ------------------------------------------------------------------ details of one run
function kvRows(table, title, pairs) {
  table.replaceChildren(el("caption", {text: title}),
    ...pairs.map(([k, v]) => el("tr", {}, el("th", {text: k}), el("td", {text: v}))));
}

function show(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? num(v) : short(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function renderDetail(info) {
  const run = board.byId.get(info.id) || {};
  $("details-hint").hidden = true;
  $("details-body").hidden = false;
  $("d-id").textContent = info.id;
  $("d-status").replaceWith(Object.assign(badge(info.status), {id: "d-status"}));
  $("d-message").hidden = !info.message;
  $("d-message").textContent = info.message || "";
  $("d-command").textContent = info.command || "(no config recorded: the command is unknown)";
  $("d-copy").hidden = !info.command;
  const s = info.summary;
  const pairs = s ? [
    ["data set", show(s.dataset)], ["model", show(s.model)], ["parameters", show(s.parameters)],
    ["epochs", show(s.epochs) + (s.stopped_early ? " (stopped early)" : "")], ["best epoch", show(s.best_epoch)],
    ["train accuracy", pct(s.train_accuracy)], ["val accuracy", pct(s.val_accuracy)],
    ["test accuracy", pct(s.test_accuracy)],
    ["test errors", isNum(s.test_errors) ? `${num(s.test_errors)} of ${num(s.test_size)}` : "–"],
    ["seconds", show(s.seconds)],
  ] : [
    ["data set", show(run.dataset)], ["model", show(run.model)], ["parameters", show(run.parameters)],
    ["epochs", `${show(run.epochs)} of ${show(run.epochs_planned)}`], ["best val accuracy", pct(run.best_val_accuracy)],
    ["summary", "written when the run ends"],
  ];
  kvRows($("d-summary"), "summary", pairs);
  kvRows($("d-config"), "config", Object.entries(info.config || {}).map(([k, v]) => [k, show(v)]));
  const warnings = info.warnings || [];
  $("d-no-warnings").hidden = warnings.length > 0;
  $("d-warnings").hidden = !warnings.length;
  $("d-warnings").replaceChildren(
    el("tr", {}, ...["kind", "epoch", "layer", "message"].map((h) => el("th", {text: h}))),
    ...warnings.map((w) => el("tr", {}, el("td", {class: "kind", text: show(w.kind)}), el("td", {text: show(w.epoch)}),
                              el("td", {text: show(w.layer)}), el("td", {text: show(w.message)}))));
  const pictures = (info.pictures || []).filter((p) => PICTURE_NAMES.includes(p));
  $("d-pictures-box").hidden = !pictures.length;
  const version = board.byId.get(info.id)?.updated;
  $("d-pictures").replaceChildren(...pictures.map((p) => el("figure", {},
    el("a", {href: fileUrl(info.id, p, version), target: "_blank", rel: "noopener"},
       el("img", {src: fileUrl(info.id, p, version), alt: `${p} of ${info.id}`, loading: "eager"})),
    el("figcaption", {text: p}))));
}

async function loadDetail(id) {
  const info = await getJSON("/api/run", {id});
  if (board.detail !== id) return;
  board.detailInfo = info;
  board.detailUpdated = board.byId.get(id)?.updated;
  const entry = board.data.get(id) || {busy: false};
  Object.assign(entry, {metrics: merge([], info.metrics || []), diagnostics: merge([], info.diagnostics || []),
                        status: info.status, updated: board.byId.get(id)?.updated ?? 0});
  board.data.set(id, entry);
  renderDetail(info);
  drawDiagnostics();
  drawComparison();
}

async function openDetail(id) {
  board.detail = id;
  renderTable();
  try { await loadDetail(id); } catch (e) { heartbeat(e.message); }
}

function closeDetail() {
  board.detail = null;
  board.detailInfo = null;
  $("details-body").hidden = true;
  $("details-hint").hidden = false;
}

async function copyCommand() {
  const text = $("d-command").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {  // no clipboard permission (an http page on another host): select it for Ctrl-C instead
    const range = document.createRange();
    range.selectNodeContents($("d-command"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
  $("d-copy").textContent = "copied";
  setTimeout(() => { $("d-copy").textContent = "copy"; }, 1200);
}

// ------------------------------------------------------------------ start
function start() {
  for (const th of document.querySelectorAll("#runs th[data-key]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      board.sort = {key, dir: board.sort.key === key ? -board.sort.dir : (["id", "dataset", "model", "status"]
        .includes(key) ? 1 : -1)};
      renderTable();
    });
  }
  $("filter").addEventListener("input", () => { board.filter = $("filter").value; renderTable(); });
  $("d-copy").addEventListener("click", copyCommand);
  $("loss-log").addEventListener("change", drawComparison);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const [name, chart] of Object.entries(board.charts)) {
        chart.setSize({width: chartWidth(chart.root.parentNode), height: chart.height});
      }
    }, 150);
  });
  drawComparison();
  loop(refreshRuns, RUN_POLL_MS);
  loop(pollMetrics, METRICS_POLL_MS);
}

start();
