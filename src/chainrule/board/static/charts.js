// chainrule board: the page's charts, drawn by uPlot (vendor/): the runs compared (loss, accuracy)
// and one run's diagnostics. Loaded before app.js, whose board, el, isNum and short they use when called.
"use strict";

// plasma, sampled from 0 to 0.85 (its last yellows are too light on white): a layer's colour says its depth
const DEPTH = ["#0d0887", "#5302a3", "#8b0aa5", "#b83289", "#db5c68", "#f48849", "#f89540"];
const SATURATING = new Set(["tanh", "sigmoid"]);
const RELU_FAMILY = new Set(["relu", "leakyrelu", "elu", "gelu"]);
const UPDATE_REFERENCE = 1e-3;  // chainrule.diagnostics.rules.UPDATE_REFERENCE
const FRACTION_LIMIT = 0.5;     // SATURATED_LIMIT and DEAD_LIMIT there

const tick = (v) => {  // an axis label: at most 5 characters or so
  if (!isNum(v) || v === 0) return isNum(v) ? "0" : "";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(a >= 1e4 ? 1 : 0).replace(".0e", "e").replace("e+", "e");
  return String(+v.toPrecision(3));
};

function aligned(ids, pick) {  // uPlot's data: the epochs shared by all, a column per (run, key), gaps as null
  const epochs = [...new Set(ids.flatMap((id) => (board.data.get(id)?.metrics || []).map((m) => m.epoch)))];
  epochs.sort((a, b) => a - b);
  const columns = [epochs];
  for (const id of ids) {
    const byEpoch = new Map((board.data.get(id)?.metrics || []).map((m) => [m.epoch, m]));
    for (const key of pick) columns.push(epochs.map((e) => (isNum(byEpoch.get(e)?.[key]) ? byEpoch.get(e)[key] : null)));
  }
  return columns;
}

function chartWidth(node) {
  return Math.max(180, Math.floor(node.getBoundingClientRect().width || node.parentNode.clientWidth || 400));
}

const fewPoints = (u) => u.data[0].length <= 20;  // a dot per epoch while they stay apart

function place(name, node, series, data, {height = 200, log = false, range = null, yFormat = tick} = {}) {
  // Builds a uPlot chart, or hands the new data to the one already there when its series are the same.
  const key = JSON.stringify(series.map((s) => [s.label, s.stroke, s.dash])) + log + range;
  const old = board.charts[name];
  if (old && board.chartKeys[name] === key) { old.setData(data); return old; }
  if (old) old.destroy();
  const readout = el("div", {class: "readout"});  // the values under the cursor, one line
  node.replaceChildren(readout);
  const y = log ? {distr: 3} : {};
  if (range) y.range = range;
  const yAxis = {size: 50, values: (u, vals) => vals.map((v) => (v === null ? "" : yFormat(v)))};
  if (log) {  // a tick and grid line per decade only, labelled 1e-3 rather than 0.001
    yAxis.splits = (u, i, min, max) => {
      const out = [];
      for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) out.push(10 ** p);
      return out.filter((v) => v >= min * 0.999 && v <= max * 1.001);
    };
    yAxis.filter = (u, splits) => splits;
    yAxis.values = (u, vals) => vals.map((v) => (v > 0 ? `1e${Math.round(Math.log10(v))}`.replace(/^1e0$/, "1") : ""));
  }
  const refs = series.map((s, i) => [s.ref, i + 1]).filter(([ref]) => ref);
  const drawRefs = (u) => {  // a reference line's name, written on the plot just above it at the right
    const ctx = u.ctx;
    ctx.save();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    for (const [ref, i] of refs) {
      const value = u.data[i].find((v) => v !== null);
      if (value === undefined) continue;
      const w = ctx.measureText(ref).width, h = 12 * devicePixelRatio;
      const x = u.bbox.left + u.bbox.width - w - 4 * devicePixelRatio;
      const y = u.valToPos(value, "y", true) - 3 * devicePixelRatio;
      ctx.globalAlpha = 1;
      ctx.fillStyle = "rgba(255, 255, 255, 0.8)";  // readable over the lines it crosses
      ctx.fillRect(x - 2, y - h, w + 4, h);
      ctx.fillStyle = u.series[i].stroke();
      ctx.fillText(ref, x, y);
    }
    ctx.restore();
  };
  const showCursor = (u) => {
    const i = u.cursor.idx;
    if (i === null || i === undefined) { readout.textContent = ""; return; }
    const parts = u.series.slice(1).map((s, k) => [s.label, u.data[k + 1][i]])
      .filter(([label, v], k) => v !== null && v !== undefined && !series[k].ref)
      .map(([label, v]) => `${label} ${short(v)}`);
    readout.textContent = `epoch ${u.data[0][i]}: ${parts.join(" · ")}`;
  };
  const chart = new uPlot({
    width: chartWidth(node), height,
    legend: {show: false},
    cursor: {drag: {x: true, y: false}},
    scales: {x: {time: false}, y},
    axes: [
      {label: "epoch", size: 36, labelSize: 16, values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? v : ""))},
      yAxis,
    ],
    hooks: {draw: [drawRefs], setCursor: [showCursor]},
    series: [{label: "epoch"},
             ...series.map(({ref, ...s}) => ({spanGaps: true, width: 1.6, points: {size: 5, show: fewPoints}, ...s}))],
  }, data, node);
  board.charts[name] = chart;
  board.chartKeys[name] = key;
  return chart;
}

function legend(node, items) {
  node.replaceChildren(...items.map((it) => el("span", {class: "key"},
    el("span", {class: "line" + (it.dash ? " dashed" : ""), style: `border-color: ${it.colour}`}),
    el("span", {text: it.label}))));
}

function drawComparison() {
  const ids = board.selected.filter((id) => board.byId.has(id));
  $("compare-hint").hidden = ids.length > 0;
  document.querySelector(".charts").hidden = !ids.length;  // shown before drawing: uPlot takes its width
  legend($("legend"), [
    ...ids.map((id) => ({colour: board.colours.get(id), label: id})),
    ...(ids.length ? [{colour: "#555", label: "train"}, {colour: "#555", label: "val", dash: true}] : []),
  ]);
  const lines = (what) => ids.flatMap((id) => [
    {label: `${id} train ${what}`, stroke: board.colours.get(id)},
    {label: `${id} val ${what}`, stroke: board.colours.get(id), dash: [6, 4]},
  ]);
  place("loss", $("chart-loss"), lines("loss"), aligned(ids, ["train_loss", "val_loss"]),
        {height: 240, log: $("loss-log").checked});
  place("acc", $("chart-acc"), lines("accuracy"), aligned(ids, ["train_accuracy", "val_accuracy"]),
        {height: 240, yFormat: (v) => +(100 * v).toFixed(1) + "%"});
}

function layerTable(records) {  // name -> {kind, units, byEpoch}, in network order
  const layers = new Map();
  for (const r of records) {
    for (const row of r.layers || []) {
      const name = String(row.name);
      if (!layers.has(name)) layers.set(name, {kind: String(row.kind), units: row.units, byEpoch: new Map()});
      layers.get(name).byEpoch.set(r.epoch, row);
    }
  }
  const names = [...layers.keys()];
  names.forEach((n, i) => {
    layers.get(n).colour = DEPTH[Math.round((DEPTH.length - 1) * (names.length > 1 ? i / (names.length - 1) : 0))];
    layers.get(n).label = `${n} ${layers.get(n).kind}` + (isNum(layers.get(n).units) ? ` (${layers.get(n).units})` : "");
  });
  return layers;
}

function diagChart(name, node, layers, epochs, value, opts, extra) {
  const series = [], data = [epochs];
  for (const layer of layers) {
    const ys = epochs.map((e) => { const row = layer.byEpoch.get(e); const v = row ? value(row, layer) : null;
                                   return isNum(v) && (!opts.log || v > 0) ? v : null; });
    if (!ys.some((v) => v !== null)) continue;
    series.push({label: layer.label, stroke: layer.colour, dash: layer.dash});
    data.push(ys);
  }
  const empty = !series.length;
  if (!empty && extra) {
    series.push({label: extra.label, ref: extra.label, stroke: extra.colour, dash: [4, 4], width: 1.2,
                 points: {show: false}});
    data.push(epochs.map(() => extra.value));
  }
  node.parentNode.classList.toggle("empty", empty);
  if (empty) {
    board.charts[name]?.destroy(); delete board.charts[name]; delete board.chartKeys[name];
    node.replaceChildren(el("p", {class: "muted", text: opts.none}));
    return;
  }
  place(name, node, series, data, {height: 170, ...opts});
}

function drawDiagnostics() {
  const entry = board.data.get(board.detail);
  const records = entry ? entry.diagnostics : [];
  $("d-diag").hidden = !records.length;
  if (!records.length) return;
  const epochs = [...new Set(records.map((r) => r.epoch))].sort((a, b) => a - b);
  const layers = layerTable(records);
  const all = [...layers.values()];
  const linear = all.filter((l) => l.kind === "linear");
  diagChart("delta", $("chart-delta"), linear.length ? linear : all, epochs, (row) => row.grad_norm,
            {log: true, none: "no δ norms recorded"});
  diagChart("update", $("chart-update"), linear, epochs,
            (row) => (isNum(row.update_ratio_mean) ? row.update_ratio_mean : row.update_ratio),
            {log: true, none: "no update ratios recorded"}, {label: "1e-3: healthy", value: UPDATE_REFERENCE, colour: "#000"});
  const acts = all.filter((l) => SATURATING.has(l.kind) || RELU_FAMILY.has(l.kind))
    .map((l) => ({...l, dash: RELU_FAMILY.has(l.kind) ? [6, 4] : undefined}));
  diagChart("frac", $("chart-frac"), acts, epochs,
            (row, l) => (SATURATING.has(l.kind) ? row.saturated : row.dead),
            {range: [0, 1], none: "no sigmoid, tanh or ReLU-family layers"},
            {label: "warning above 0.5", value: FRACTION_LIMIT, colour: "#d62728"});
  const shown = [...new Set([...linear, ...acts].map((l) => l.label))].map((label) => all.find((l) => l.label === label));
  legend($("d-diag-legend"), [
    ...shown.map((l) => ({colour: l.colour, label: l.label + (RELU_FAMILY.has(l.kind) ? " (dead)" : SATURATING.has(l.kind)
                                                                ? " (saturated)" : ""), dash: RELU_FAMILY.has(l.kind)})),
  ]);
}
