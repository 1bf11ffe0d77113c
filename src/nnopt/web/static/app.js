// nnopt playground: the page. Vanilla JS and canvas; the server trains, this file draws.
//
// Flow: connect the websocket -> "hello" (menus, limits, defaults from the engine's
// registries) -> the setup from the URL (or the defaults) is sent -> "ready" (the accepted
// setup, the data points) -> "snapshot"s while training. Every control edits `app.state`,
// which is mirrored in the URL hash and sent as a "setup"; the server validates it and
// answers "ready" or an "error" (then the controls go back to the last accepted setup).
"use strict";

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- colours

const ORANGE = [245, 147, 34];
const GREY = [232, 234, 235];
const BLUE = [8, 119, 189];
const CLASS_COLORS = [ORANGE, BLUE, [44, 160, 44], [148, 103, 189]];
const LANE_COLORS = ["#0877bd", "#f59322", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const TRAIN_LINE = "#555";
const TEST_LINE = "#e6550d";

// byte 0..255 -> colour along orange (-1) .. grey (0) .. blue (+1), as TensorFlow Playground
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let b = 0; b < 256; b++) {
    const t = b / 127.5 - 1;
    const end = t < 0 ? ORANGE : BLUE;
    const s = Math.abs(t);
    for (let c = 0; c < 3; c++) lut[b * 3 + c] = GREY[c] * (1 - s) + end[c] * s;
  }
  return lut;
})();

function lutColor(b) {
  const i = Math.max(0, Math.min(255, Math.round(b))) * 3;
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

function decodeBytes(b64) {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------- state

const app = {
  hello: null, // {choices, limits, defaults, chunk, previews}
  ws: null,
  session: null,
  retry: 0,
  state: null, // {data, lanes, selected, weights, showTest, speed}
  accepted: null, // the last setup the server accepted
  lanesInfo: [], // per lane: layers, parameters, ema
  data: null, // task, classes, extent, train, test
  snapshot: null,
  dirty: false,
  series: [], // per lane: [{step, m}] bounded
  playing: false,
  playedAt: null, // step when Play was pressed (to show "compiling")
  frameTimes: [],
  net: null, // the network view's DOM handles
};
const SERIES_MAX = 600;

const clone = (v) => JSON.parse(JSON.stringify(v));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const lane = () => app.state.lanes[app.state.selected];

function taskOf(name) {
  if (name === "upload") return "binary";
  const d = app.hello.choices.datasets.find((x) => x.name === name);
  return d ? d.task : "binary";
}

function lossFits(loss, task) {
  const spec = app.hello.choices.losses.find((l) => l.name === loss);
  return !!spec && spec.tasks.includes(task);
}

// ---------------------------------------------------------------- URL state

// #data=circle&test=0.3&lane=optimizer:adam,learning_rate:0.03&lane=optimizer:sgd&sel=1
// A lane lists only the settings that differ from the defaults.
const DATA_KEYS = { noise: "noise", test_fraction: "test", seed: "dseed", n_samples: "points" };

function encodeState(s) {
  const p = new URLSearchParams();
  const dd = app.hello.defaults.data;
  p.set("data", s.data.name);
  for (const [key, short] of Object.entries(DATA_KEYS)) {
    if (s.data[key] !== dd[key]) p.set(short, s.data[key]);
  }
  for (const l of s.lanes) p.append("lane", encodeLane(l));
  if (s.selected) p.set("sel", s.selected);
  if (s.weights === "ema") p.set("view", "ema");
  if (!s.showTest) p.set("testpoints", "0");
  if (s.speed !== "fast") p.set("speed", s.speed);
  return "#" + p.toString().replace(/%3A/gi, ":").replace(/%2C/gi, ","); // readable; still valid
}

function encodeLane(l) {
  const dl = app.hello.defaults.lane;
  const parts = [];
  for (const key of Object.keys(dl)) {
    const v = l[key];
    if (same(v, dl[key])) continue;
    const text = Array.isArray(v) ? v.join("-") : typeof v === "boolean" ? (v ? "1" : "0") : String(v);
    parts.push(`${key}:${text}`);
  }
  return parts.join(",");
}

function parseLike(text, example) {
  if (Array.isArray(example)) return text === "" ? [] : text.split("-").map((v) => (/^\d+$/.test(v) ? Number(v) : v));
  if (typeof example === "boolean") return text === "1" || text === "true";
  if (typeof example === "number") return text.trim() !== "" && isFinite(Number(text)) ? Number(text) : text;
  return text;
}

function decodeLane(text, unknown) {
  const dl = app.hello.defaults.lane;
  const l = clone(dl);
  for (const part of text.split(",")) {
    if (!part) continue;
    const at = part.indexOf(":");
    const key = at < 0 ? part : part.slice(0, at);
    if (!(key in dl)) { unknown.push(key); continue; }
    l[key] = parseLike(at < 0 ? "" : part.slice(at + 1), dl[key]);
  }
  return l;
}

function stateFromUrl() {
  const d = app.hello.defaults;
  const s = { data: clone(d.data), lanes: [], selected: 0, weights: "raw", showTest: true, speed: "fast" };
  const p = new URLSearchParams(location.hash.slice(1));
  const unknown = [];
  if (p.has("data")) s.data.name = p.get("data");
  for (const [key, short] of Object.entries(DATA_KEYS)) {
    if (p.has(short)) s.data[key] = parseLike(p.get(short), d.data[key]);
  }
  s.lanes = p.getAll("lane").slice(0, app.hello.limits.lanes).map((t) => decodeLane(t, unknown));
  if (!s.lanes.length) s.lanes = [clone(d.lane)];
  s.selected = Math.min(Math.max(0, parseInt(p.get("sel") || "0", 10) || 0), s.lanes.length - 1);
  s.weights = p.get("view") === "ema" ? "ema" : "raw";
  s.showTest = p.get("testpoints") !== "0";
  if (app.hello.choices.speeds.includes(p.get("speed"))) s.speed = p.get("speed");
  if (unknown.length) showError(`the link has unknown settings ${unknown.join(", ")}; they were left out`);
  if (s.data.name === "upload") {
    s.data.name = d.data.name;
    showError("uploaded points are not part of a link: upload the CSV again (the link's other settings are kept)");
  }
  return s;
}

function updateUrl() {
  const hash = encodeState(app.state);
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

// ---------------------------------------------------------------- connection

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  app.ws = ws;
  ws.onopen = () => { app.retry = 0; setConnection("connected", "ok"); };
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
  ws.onclose = () => {
    app.playing = false;
    renderPlayer();
    setConnection("disconnected: reconnecting…", "lost");
    app.retry = Math.min(app.retry + 1, 5);
    setTimeout(connect, 500 * app.retry);
  };
}

function setConnection(text, cls) {
  const el = $("connection");
  el.textContent = text;
  el.className = "connection " + cls;
}

function send(message) {
  if (app.ws && app.ws.readyState === WebSocket.OPEN) app.ws.send(JSON.stringify(message));
}

let setupTimer = null;
function pushSetup(now = false) {
  updateUrl();
  renderControls();
  clearTimeout(setupTimer);
  const go = () => send({ type: "setup", data: app.state.data, lanes: app.state.lanes, selected: app.state.selected });
  if (now) go(); else setupTimer = setTimeout(go, 120);
}

const handlers = {
  hello(m) {
    const first = !app.hello;
    app.hello = m;
    app.session = m.session;
    if (first) {
      buildMenus();
      app.state = stateFromUrl();
    }
    pushSetup(true);
    send({ type: "speed", value: app.state.speed });
    send({ type: "view", weights: app.state.weights });
  },
  ready(m) {
    app.accepted = clone(m.setup);
    app.lanesInfo = m.lanes;
    if (m.data) app.data = m.data;
    if (m.data && m.setup.data.name === "upload") drawUploadTile(m.data);
    if (m.reset) {
      app.series = m.lanes.map(() => []);
      app.playedAt = app.playing ? 0 : null;
    }
    while (app.series.length < m.lanes.length) app.series.push([]);
    app.series.length = m.lanes.length;
    app.state.selected = m.setup.selected;
    buildNetwork();
    renderControls();
    renderLanes();
    renderDatasets();
  },
  snapshot(m) {
    app.snapshot = m;
    app.playing = m.playing;
    m.lanes.forEach((l, i) => {
      const s = app.series[i];
      if (!s || !l.metrics || l.metrics.step === undefined) return;
      if (s.length && s[s.length - 1].step >= l.metrics.step) {
        if (l.metrics.step < s[s.length - 1].step) s.length = 0; // the lane started over
        else return;
      }
      s.push({ step: l.metrics.step, m: l.metrics });
      if (s.length > SERIES_MAX) app.series[i] = s.filter((_, k) => k % 2 === 0 || k === s.length - 1);
    });
    m.lanes.forEach((l, i) => {
      if (l.error && !(app.shownErrors || (app.shownErrors = new Set())).has(i + l.error)) {
        app.shownErrors.add(i + l.error);
        showError((m.lanes.length > 1 ? `lane ${i + 1}: ` : "") + l.error);
      }
    });
    app.dirty = true;
    renderPlayer();
  },
  status(m) {
    app.playing = m.playing;
    renderPlayer();
  },
  error(m) {
    showError(m.message);
    if (m.about === "setup" && app.accepted) {
      // back to what the server runs, so the controls never lie
      app.state.data = clone(app.accepted.data);
      app.state.lanes = clone(app.accepted.lanes);
      app.state.selected = app.accepted.selected;
      updateUrl();
      renderControls();
      buildNetwork();
      renderLanes();
    }
    if (m.about === "import") $("import-error").textContent = m.message;
  },
  export(m) { showExport(m); },
  imported(m) {
    app.state.data = m.settings.data;
    app.state.lanes[app.state.selected] = m.settings.lane;
    $("import-dialog").close();
    pushSetup(true);
  },
};

function onMessage(m) {
  const handler = handlers[m.type];
  if (handler) handler(m);
}

// ---------------------------------------------------------------- errors

// The bar keeps the last few messages, so a follow-up error does not hide the first cause.
let errorTimer = null;
let errorLines = [];
function showError(text) {
  if ($("error").hidden) errorLines = [];
  errorLines = errorLines.filter((line) => line !== text).concat([text]).slice(-3);
  $("error-text").textContent = errorLines.join("\n");
  $("error").hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { $("error").hidden = true; }, 12000);
}

// ---------------------------------------------------------------- controls

function fillSelect(el, names, labels) {
  el.innerHTML = "";
  for (const name of names) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = labels ? labels[name] || name : name.replace(/_/g, " ");
    el.appendChild(o);
  }
}

function buildMenus() {
  const c = app.hello.choices;
  fillSelect($("optimizer"), c.optimizers.map((o) => o.name));
  for (const o of $("optimizer").options) o.title = c.optimizers.find((x) => x.name === o.value).summary;
  fillSelect($("activation"), c.activations);
  fillSelect($("init"), c.initializers);
  fillSelect($("loss"), c.losses.map((l) => l.name), { cost_profit: "cost / profit" });
  for (const o of $("loss").options) o.title = c.losses.find((x) => x.name === o.value).summary;
  const labels = (items) => Object.fromEntries(items.map((x) => [x.name, x.label]));
  fillSelect($("regularizer"), c.regularizers.map((r) => r.name), labels(c.regularizers));
  fillSelect($("schedule"), c.schedules.map((s) => s.name), labels(c.schedules));
  fillSelect($("speed"), c.speeds);
  fillSelect($("vary-field"), Object.keys(c.race));
  $("max-lanes").textContent = app.hello.limits.lanes;
  $("vary-values").value = c.race[$("vary-field").value].values;
  buildDatasetTiles();
}

function laneValue(key, el) {
  const example = app.hello.defaults.lane[key];
  if (el.type === "checkbox") return el.checked;
  if (typeof example === "number") return parseLike(el.value, example);
  return el.value;
}

function bindControls() {
  for (const el of document.querySelectorAll(".hyper-bar [data-key]")) {
    el.addEventListener("change", () => {
      lane()[el.dataset.key] = laneValue(el.dataset.key, el);
      pushSetup();
    });
  }
  $("speed").addEventListener("change", () => {
    app.state.speed = $("speed").value;
    updateUrl();
    send({ type: "speed", value: app.state.speed });
  });
  $("play").addEventListener("click", () => {
    if (!app.accepted) return showError("nothing to train yet: correct the setting named above first");
    if (app.playing) send({ type: "pause" });
    else { app.playedAt = app.snapshot ? app.snapshot.step : 0; send({ type: "play" }); }
  });
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("step").addEventListener("click", () => {
    if (!app.accepted) return showError("nothing to train yet: correct the setting named above first");
    send({ type: "step", chunks: 1 });
  });
  $("error-close").addEventListener("click", () => { $("error").hidden = true; });
  $("weights-raw").addEventListener("click", () => setWeights("raw"));
  $("weights-ema").addEventListener("click", () => setWeights("ema"));
  $("show-test").addEventListener("change", () => {
    app.state.showTest = $("show-test").checked;
    updateUrl();
    app.dirty = true;
  });
  $("test_fraction").addEventListener("input", () => {
    $("test_fraction-value").textContent = `${$("test_fraction").value}%`;
  });
  $("test_fraction").addEventListener("change", () => setData("test_fraction", Number($("test_fraction").value) / 100));
  $("noise").addEventListener("input", () => { $("noise-value").textContent = `${$("noise").value}`; });
  $("noise").addEventListener("change", () => setData("noise", Number($("noise").value) / 100));
  $("n_samples").addEventListener("change", () => setData("n_samples", parseLike($("n_samples").value, 0)));
  $("data_seed").addEventListener("change", () => setData("seed", parseLike($("data_seed").value, 0)));
  $("regenerate").addEventListener("click", () => setData("seed", (Number(app.state.data.seed) || 0) + 1));
  $("add-layer").addEventListener("click", () => editLayers((h) => {
    if (h.length < app.hello.limits.hidden_layers) h.push(h.length ? h[h.length - 1] : 4);
  }));
  $("remove-layer").addEventListener("click", () => editLayers((h) => { h.pop(); }));
  $("upload-file").addEventListener("change", uploadFile);
  $("export").addEventListener("click", () => send({ type: "export" }));
  $("open-import").addEventListener("click", () => { $("import-error").textContent = ""; $("import-dialog").showModal(); });
  $("import-file").addEventListener("change", async () => {
    const file = $("import-file").files[0];
    if (file) $("import-text").value = await file.text();
  });
  $("do-import").addEventListener("click", () => {
    $("import-error").textContent = "";
    send({ type: "import", toml: $("import-text").value });
  });
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("copy-link").textContent = "Link copied"; }
    catch { $("copy-link").textContent = "Copy from the address bar"; }
    setTimeout(() => { $("copy-link").textContent = "Copy link"; }, 2000);
  });
  $("vary-field").addEventListener("change", () => { $("vary-values").value = app.hello.choices.race[$("vary-field").value].values; });
  $("build-race").addEventListener("click", buildRace);
  $("add-lane").addEventListener("click", () => {
    if (app.state.lanes.length >= app.hello.limits.lanes) return showError(`a race has at most ${app.hello.limits.lanes} lanes`);
    app.state.lanes.push(clone(lane()));
    app.state.selected = app.state.lanes.length - 1;
    pushSetup(true);
  });
  $("single").addEventListener("click", () => {
    app.state.lanes = [clone(lane())];
    app.state.selected = 0;
    pushSetup(true);
  });
  window.addEventListener("resize", () => { buildNetwork(); app.dirty = true; });
}

function setWeights(which) {
  app.state.weights = which;
  updateUrl();
  renderControls();
  send({ type: "view", weights: which });
}

function setData(key, value) {
  app.state.data[key] = value;
  fitLosses();
  pushSetup();
}

function fitLosses() {
  // a loss that does not fit the data (e.g. cross entropy on regression) becomes mse
  const task = taskOf(app.state.data.name);
  app.state.lanes.forEach((l, i) => {
    if (!lossFits(l.loss, task)) {
      showError(`${app.state.lanes.length > 1 ? `lane ${i + 1}: ` : ""}loss ${l.loss} does not fit ${task} data; using mse`);
      l.loss = "mse";
    }
  });
}

function editLayers(change) {
  const hidden = lane().hidden;
  change(hidden);
  pushSetup();
}

function renderControls() {
  const l = lane();
  for (const el of document.querySelectorAll(".hyper-bar [data-key]")) {
    const v = l[el.dataset.key];
    if (el.type === "checkbox") el.checked = !!v;
    else if (document.activeElement !== el || el.tagName === "SELECT") el.value = v;
  }
  for (const el of document.querySelectorAll("[data-when]")) {
    const [key, op, want] = el.dataset.when.split(/(!=|=)/);
    const v = String(l[key]);
    el.hidden = op === "=" ? v !== want : v === want;
  }
  const task = taskOf(app.state.data.name);
  for (const o of $("loss").options) o.disabled = !lossFits(o.value, task);
  const d = app.state.data;
  $("test_fraction").value = Math.round(d.test_fraction * 100);
  $("test_fraction-value").textContent = `${Math.round(d.test_fraction * 100)}%`;
  $("noise").value = Math.round(d.noise * 100);
  $("noise-value").textContent = `${Math.round(d.noise * 100)}`;
  $("n_samples").value = d.n_samples;
  $("data_seed").value = d.seed;
  $("speed").value = app.state.speed;
  $("show-test").checked = app.state.showTest;
  $("weights-raw").classList.toggle("on", app.state.weights === "raw");
  $("weights-ema").classList.toggle("on", app.state.weights === "ema");
  const n = l.hidden.length;
  $("layers-title").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  const editing = $("editing");
  editing.hidden = app.state.lanes.length < 2;
  editing.innerHTML = `<span style="color:${LANE_COLORS[app.state.selected]}">●</span> editing lane ${app.state.selected + 1} of ${app.state.lanes.length}`;
  renderDatasets();
}

function renderPlayer() {
  $("play").classList.toggle("playing", app.playing);
  $("play").title = app.playing ? "Pause" : "Play";
  const snap = app.snapshot;
  const step = snap ? snap.step : 0;
  $("step-count").textContent = String(step).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  let rate = "paused";
  if (app.playing) {
    const now = performance.now();
    const recent = app.frameTimes.filter((t) => now - t < 2000);
    const fps = recent.length > 1 ? ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0]) : 0;
    const sps = snap ? snap.rate.steps_per_second : 0;
    const compiling = snap && snap.lanes.some((l) => l.step === (app.playedAt || 0)) && sps === 0;
    rate = compiling ? "compiling the training program…" : `${Math.round(sps).toLocaleString("en")} steps/s · ${fps.toFixed(0)} updates/s`;
  }
  $("rate").textContent = rate;
}

// ---------------------------------------------------------------- data column

function buildDatasetTiles() {
  const box = $("datasets");
  box.innerHTML = "";
  for (const d of app.hello.choices.datasets) {
    const tile = document.createElement("button");
    tile.className = "dataset";
    tile.dataset.name = d.name;
    tile.title = d.summary;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 56;
    drawPreview(canvas, app.hello.previews[d.name], d.task);
    tile.append(canvas, d.name);
    tile.addEventListener("click", () => setData("name", d.name));
    box.appendChild(tile);
  }
  const up = document.createElement("button");
  up.className = "dataset";
  up.dataset.name = "upload";
  up.id = "upload-tile";
  up.title = "upload a CSV of points x0,x1,label (label 0 or 1)";
  up.innerHTML = `<div class="upload-icon">&#x2912;</div>upload CSV`;
  up.addEventListener("click", () => $("upload-file").click());
  box.appendChild(up);
}

function drawUploadTile(data) {
  // the upload tile shows the uploaded points, like the generated datasets' tiles
  const tile = $("upload-tile");
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 56;
  drawPreview(canvas, { points: data.train.concat(data.test), extent: data.extent, target_range: [0, 1] }, "binary");
  tile.replaceChildren(canvas, "uploaded");
}

function renderDatasets() {
  for (const tile of document.querySelectorAll(".dataset")) {
    tile.classList.toggle("selected", tile.dataset.name === app.state.data.name);
  }
}

function drawPreview(canvas, preview, task) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!preview) return;
  const { points, extent, target_range: tr } = preview;
  for (const [x0, x1, y] of points) {
    const px = ((x0 - extent[0]) / (extent[1] - extent[0])) * canvas.width;
    const py = ((extent[3] - x1) / (extent[3] - extent[2])) * canvas.height;
    ctx.fillStyle = pointColor(y, task, tr);
    ctx.fillRect(px - 1, py - 1, 2.4, 2.4);
  }
}

function pointColor(y, task, targetRange) {
  if (task === "regression") {
    const [lo, hi] = targetRange;
    return lutColor(((y - lo) / (hi - lo || 1)) * 255);
  }
  const c = CLASS_COLORS[Math.round(y)] || GREY;
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

async function uploadFile() {
  const file = $("upload-file").files[0];
  $("upload-file").value = "";
  if (!file) return;
  const status = $("upload-status");
  const limit = app.hello.limits.upload_bytes;
  const fail = (message) => {
    status.textContent = message;
    status.className = "upload-status bad";
    showError(message);
  };
  if (file.size > limit) return fail(`upload: ${file.name} is ${file.size} bytes; at most ${limit}`);
  status.textContent = `uploading ${file.name}…`;
  status.className = "upload-status";
  let reply;
  try {
    const response = await fetch(`/api/upload/${app.session}`, {
      method: "POST", headers: { "Content-Type": "text/csv" }, body: await file.arrayBuffer(),
    });
    reply = await response.json();
  } catch (err) {
    return fail(`upload: the server did not answer (${err})`);
  }
  if (!reply.ok) return fail(reply.error);
  status.textContent = `${file.name}: ${reply.points} points (${reply.labels["0"]} of class 0, ${reply.labels["1"]} of class 1)`;
  status.className = "upload-status good";
  app.state.data.name = "upload";
  app.state.data.n_samples = 0;
  fitLosses();
  pushSetup(true);
}

// ---------------------------------------------------------------- network view

const NODE = 32;
const OUT_NODE = 42;

function buildNetwork() {
  const box = $("network");
  const info = app.lanesInfo[app.state.selected];
  if (!info) return;
  const layers = info.layers;
  const width = Math.max(420, box.clientWidth);
  const cols = layers.length;
  const left = 40;
  const right = width - 40;
  const colX = layers.map((_, i) => left + ((right - left) * i) / (cols - 1));
  const spacing = Math.max(...layers) > 10 ? 38 : 44;
  const top = 50;
  const height = top + Math.max(...layers) * spacing + 20;
  box.innerHTML = "";
  box.style.height = `${height}px`;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  box.appendChild(svg);
  const nodes = [];
  const centers = [];
  layers.forEach((n, k) => {
    const size = k === cols - 1 ? OUT_NODE : NODE;
    const x = colX[k];
    const col = [];
    const cen = [];
    for (let j = 0; j < n; j++) {
      const y = top + j * spacing + NODE / 2;
      const div = document.createElement("div");
      div.className = "node" + (k === cols - 1 ? " output" : "");
      div.style.left = `${x - size / 2}px`;
      div.style.top = `${y - size / 2}px`;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 32;
      div.appendChild(canvas);
      div.title = k === 0 ? `input x${j}` : `layer ${k}, neuron ${j + 1}`;
      box.appendChild(div);
      col.push({ canvas, div });
      cen.push([x, y, size]);
      if (k === 0) {
        drawFeature(canvas, j);
        const label = document.createElement("div");
        label.className = "node-label";
        label.textContent = `x${j}`;
        label.style.left = `${x - size / 2 - 22}px`;
        label.style.top = `${y - 7}px`;
        box.appendChild(label);
      }
    }
    nodes.push(col);
    centers.push(cen);
    box.appendChild(layerHead(k, cols, n, x));
  });
  const paths = [];
  for (let k = 1; k < cols; k++) {
    const layer = [];
    for (let i = 0; i < layers[k - 1]; i++) {
      const row = [];
      for (let j = 0; j < layers[k]; j++) {
        const [x1, y1, s1] = centers[k - 1][i];
        const [x2, y2, s2] = centers[k][j];
        const a = x1 + s1 / 2;
        const b = x2 - s2 / 2;
        const m = (a + b) / 2;
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        path.setAttribute("d", `M${a},${y1} C${m},${y1} ${m},${y2} ${b},${y2}`);
        path.setAttribute("stroke", "#ccc");
        const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        path.appendChild(title);
        svg.appendChild(path);
        row.push(path);
      }
      layer.push(row);
    }
    paths.push(layer);
  }
  app.net = { layers, nodes, paths };
  $("network-summary").textContent = networkSummary(info);
  app.dirty = true;
}

function networkSummary(info) {
  const l = lane();
  const hidden = info.layers.length - 2;
  return `${info.layers.join("-")} ${l.activation} network, ${info.output_activation} output: ` +
    `${hidden} hidden layer${hidden === 1 ? "" : "s"}, ${info.parameters.toLocaleString("en")} parameters`;
}

function layerHead(k, cols, n, x) {
  const head = document.createElement("div");
  head.className = "layer-head";
  head.style.left = `${x - 45}px`;
  head.style.top = "0px";
  if (k === 0) head.innerHTML = "<div class='row'>&nbsp;</div>features";
  else if (k === cols - 1) head.innerHTML = "<div class='row'>&nbsp;</div>output";
  else {
    const limit = app.hello.limits.neurons;
    head.innerHTML = `<div class="row"><button class="round tiny" title="add a neuron">+</button>` +
      `<button class="round tiny" title="remove a neuron">&minus;</button></div>${n} neuron${n === 1 ? "" : "s"}`;
    const [plus, minus] = head.querySelectorAll("button");
    plus.addEventListener("click", () => editLayers((h) => { if (h[k - 1] < limit) h[k - 1] += 1; }));
    minus.addEventListener("click", () => editLayers((h) => { if (h[k - 1] > 1) h[k - 1] -= 1; }));
  }
  return head;
}

function drawFeature(canvas, which) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(32, 32);
  for (let r = 0; r < 32; r++) {
    for (let c = 0; c < 32; c++) {
      const t = which === 0 ? c / 31 : 1 - r / 31;
      putLut(img.data, r * 32 + c, t * 255);
    }
  }
  ctx.putImageData(img, 0, 0);
}

function putLut(data, index, b) {
  const i = Math.max(0, Math.min(255, Math.round(b))) * 3;
  data[index * 4] = LUT[i];
  data[index * 4 + 1] = LUT[i + 1];
  data[index * 4 + 2] = LUT[i + 2];
  data[index * 4 + 3] = 255;
}

function drawNeuron(canvas, b64, multiclassOutput) {
  const bytes = decodeBytes(b64);
  const side = Math.round(Math.sqrt(bytes.length));
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let i = 0; i < bytes.length; i++) putLut(img.data, i, bytes[i]);
  if (canvas.width !== side) canvas.width = canvas.height = side;
  ctx.putImageData(img, 0, 0);
}

function updateNetwork(network) {
  const net = app.net;
  if (!net || !network || network.neurons.length !== net.layers.length - 1) return;
  network.neurons.forEach((layer, k) => {
    layer.forEach((b64, j) => {
      const node = net.nodes[k + 1][j];
      if (node) drawNeuron(node.canvas, b64);
      const bias = network.weights[`b${k + 1}`];
      if (node && bias) node.div.title = `layer ${k + 1}, neuron ${j + 1}: bias b${k + 1}[${j}] = ${bias[j]}`;
    });
  });
  net.paths.forEach((layer, k) => {
    const w = network.weights[`w${k + 1}`];
    if (!w) return;
    layer.forEach((row, i) => row.forEach((path, j) => {
      const v = w[i][j];
      path.setAttribute("stroke", v >= 0 ? "#0877bd" : "#f59322");
      path.setAttribute("stroke-width", Math.min(8, 0.4 + Math.abs(v) * 1.6).toFixed(2));
      path.setAttribute("stroke-opacity", Math.min(1, 0.25 + Math.abs(v) * 0.5).toFixed(2));
      path.firstChild.textContent = `w${k + 1}[${i},${j}] = ${v}`;
    }));
  });
}

// ---------------------------------------------------------------- heatmap

const heatCanvas = document.createElement("canvas");
heatCanvas.width = heatCanvas.height = 64;

function drawHeatmap(canvas, b64, opts = {}) {
  const data = app.data;
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  if (!data) return;
  if (b64) {
    const bytes = decodeBytes(b64);
    const side = Math.round(Math.sqrt(bytes.length));
    const hctx = heatCanvas.getContext("2d");
    const img = hctx.createImageData(side, side);
    for (let i = 0; i < bytes.length; i++) {
      if (data.task === "multiclass") {
        const cls = bytes[i] >> 6;
        const conf = (bytes[i] & 63) / 63;
        const k = data.classes;
        const s = Math.max(0, Math.min(1, (conf - 1 / k) / (1 - 1 / k)));
        const col = CLASS_COLORS[cls] || GREY;
        for (let c = 0; c < 3; c++) img.data[i * 4 + c] = GREY[c] * (1 - s) + col[c] * s;
        img.data[i * 4 + 3] = 255;
      } else putLut(img.data, i, bytes[i]);
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, 0, 0, side, side, 0, 0, W, H);
  } else {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
  }
  ctx.drawImage(pointsLayer(W, H, !!opts.small), 0, 0);
}

// The points never move while training: each size is drawn once and then copied per frame.
const pointLayers = new Map();

function pointsLayer(W, H, small) {
  const data = app.data;
  const key = `${W}x${H}:${small}:${app.state.showTest}`;
  if (pointLayers.data !== data) { pointLayers.clear(); pointLayers.data = data; }
  if (pointLayers.has(key)) return pointLayers.get(key);
  const layer = document.createElement("canvas");
  layer.width = W;
  layer.height = H;
  const ctx = layer.getContext("2d");
  const e = data.extent;
  const radius = small ? 2.2 : 3.3;
  const drawPoints = (rows, stroke) => {
    ctx.lineWidth = 1;
    ctx.strokeStyle = stroke;
    for (const [x0, x1, y] of rows) {
      const px = ((x0 - e[0]) / (e[1] - e[0])) * W;
      const py = ((e[3] - x1) / (e[3] - e[2])) * H;
      ctx.beginPath();
      ctx.arc(px, py, radius, 0, 2 * Math.PI);
      ctx.fillStyle = pointColor(y, data.task, data.target_range);
      ctx.fill();
      ctx.stroke();
    }
  };
  drawPoints(data.train, "#fff");
  if (app.state.showTest) drawPoints(data.test, "#222");
  pointLayers.set(key, layer);
  return layer;
}

function renderAxes() {
  const data = app.data;
  if (!data) return;
  const [a, b, c, d] = data.extent;
  const f = (v) => {
    const text = Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1);
    return Number(text) === 0 ? text.replace("-", "") : text; // no "-0.0"
  };
  $("extent-x").innerHTML = `<span>${f(a)}</span><span>x0</span><span>${f(b)}</span>`;
  $("extent-y").innerHTML = `<span>${f(d)}</span><span>x1</span><span>${f(c)}</span>`;
  const bar = $("colorbar");
  if (data.task === "multiclass") {
    bar.style.background = `linear-gradient(90deg, ${[0, 1, 2].map((k) => pointColor(k, "multiclass")).map((c, i) => `${c} ${i * 33}%, ${c} ${(i + 1) * 33}%`).join(", ")})`;
    bar.title = "classes 0, 1, 2";
  } else {
    bar.style.background = `linear-gradient(90deg, ${lutColor(0)}, ${lutColor(128)}, ${lutColor(255)})`;
    bar.title = data.task === "regression" ? `target ${data.target_range[0].toFixed(2)} .. ${data.target_range[1].toFixed(2)}` : "class 0 .. class 1";
  }
}

// ---------------------------------------------------------------- charts

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a < 1 ? 4 : 3);
}

function drawChart(canvas, lines, opts = {}) {
  // lines: [{points: [[x, y]...], color, dash}]
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const all = lines.flatMap((l) => l.points).filter((p) => p[1] !== null && Number.isFinite(p[1]));
  if (all.length < 1) return;
  let x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  if (x1 === x0) x1 = x0 + 1;
  const ys = all.map((p) => p[1]);
  const positive = ys.every((y) => y > 0);
  let lo = opts.zero ? 0 : Math.min(...ys);
  let hi = Math.max(...ys);
  const log = opts.log !== false && positive && hi / Math.max(Math.min(...ys), 1e-30) > 50;
  const ty = log ? (y) => Math.log10(y) : (y) => y;
  if (log) { lo = Math.log10(Math.min(...ys)); hi = Math.log10(hi); }
  if (hi === lo) { hi = lo + 1; }
  const pad = 4;
  const bottom = 13; // a strip under the plot for the step label
  const sx = (x) => pad + ((x - x0) / (x1 - x0)) * (W - 2 * pad);
  const sy = (y) => H - bottom - ((ty(y) - lo) / (hi - lo)) * (H - bottom - 2 * pad);
  for (const line of lines) {
    let pts = line.points.filter((p) => p[1] !== null && Number.isFinite(p[1]));
    if (!pts.length) continue;
    const every = Math.ceil(pts.length / (W / 2)); // no more than a point per 2 pixels
    if (every > 1) pts = pts.filter((_, k) => k % every === 0 || k === pts.length - 1);
    ctx.beginPath();
    ctx.strokeStyle = line.color;
    ctx.lineWidth = line.width || 1.5;
    ctx.setLineDash(line.dash ? [4, 3] : []);
    pts.forEach((p, i) => (i ? ctx.lineTo(sx(p[0]), sy(p[1])) : ctx.moveTo(sx(p[0]), sy(p[1]))));
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.fillStyle = "#999";
  ctx.font = "10px Helvetica, Arial, sans-serif";
  ctx.textAlign = "right";
  const top = log ? 10 ** hi : hi;
  ctx.fillText(`${fmt(top)}${log ? " (log)" : ""}`, W - 4, 11);
  ctx.fillText(`step ${Math.round(x1).toLocaleString("en")}`, W - 4, H - 2);
  ctx.textAlign = "left";
  ctx.fillText(`step ${Math.round(x0).toLocaleString("en")}`, 4, H - 2);
  ctx.strokeStyle = "#eee";
  ctx.beginPath();
  ctx.moveTo(0, H - bottom + 0.5);
  ctx.lineTo(W, H - bottom + 0.5);
  ctx.stroke();
}

function seriesLine(series, key, color, dash) {
  return { points: series.map((p) => [p.step, p.m[key] ?? null]), color, dash };
}

// ---------------------------------------------------------------- race

function buildRace() {
  const field = $("vary-field").value;
  const example = app.hello.defaults.lane[field];
  const values = $("vary-values").value.split(",").map((v) => v.trim()).filter((v) => v !== "");
  const limit = app.hello.limits.lanes;
  if (values.length < 1) return showError("race: list the values to compare, separated by commas");
  if (values.length > limit) return showError(`race: ${values.length} values; a race has at most ${limit} lanes`);
  const base = lane();
  const also = app.hello.choices.race[field].also || {};
  app.state.lanes = values.map((v) => ({ ...clone(base), ...also, [field]: parseLike(v, example) }));
  app.state.selected = 0;
  pushSetup(true);
}

function laneLabel(l, i) {
  const first = app.state.lanes[0];
  const parts = [`${l.optimizer}`, `lr ${l.learning_rate}`];
  for (const key of Object.keys(l)) {
    if (key === "optimizer" || key === "learning_rate") continue;
    if (i > 0 && !same(l[key], first[key])) parts.push(`${key.replace(/_/g, " ")} ${Array.isArray(l[key]) ? l[key].join("-") : l[key]}`);
    if (i === 0 && app.state.lanes.some((o) => !same(o[key], l[key]))) parts.push(`${key.replace(/_/g, " ")} ${Array.isArray(l[key]) ? l[key].join("-") : l[key]}`);
  }
  return parts.join(" · ");
}

function renderLanes() {
  const box = $("lanes");
  box.innerHTML = "";
  const racing = app.state.lanes.length > 1;
  $("race-chart").hidden = !racing;
  $("race-legend").textContent = racing ? "solid: training loss · dashed: test loss (data loss, the weights chosen above)" : "";
  if (!racing) return;
  app.state.lanes.forEach((l, i) => {
    const card = document.createElement("div");
    card.className = "lane" + (i === app.state.selected ? " selected" : "");
    card.dataset.index = i;
    card.innerHTML = `<div class="lane-title"><span class="dot" style="background:${LANE_COLORS[i]}"></span>lane ${i + 1}</div>` +
      `<div class="lane-label"></div><canvas width="158" height="158"></canvas>` +
      `<div class="lane-metrics">–</div><div class="lane-error"></div>` +
      `<button class="remove" title="remove this lane">×</button>`;
    card.querySelector(".lane-label").textContent = laneLabel(l, i);
    card.addEventListener("click", () => {
      if (app.state.selected === i) return;
      app.state.selected = i;
      updateUrl();
      send({ type: "view", selected: i });
      app.accepted.selected = i;
      renderControls();
      buildNetwork();
      for (const c of box.children) c.classList.toggle("selected", Number(c.dataset.index) === i);
    });
    card.querySelector(".remove").addEventListener("click", (ev) => {
      ev.stopPropagation();
      app.state.lanes.splice(i, 1);
      app.state.selected = Math.min(app.state.selected, app.state.lanes.length - 1);
      pushSetup(true);
    });
    box.appendChild(card);
  });
}

// ---------------------------------------------------------------- drawing

function draw() {
  const snap = app.snapshot;
  if (!snap || !app.data) return;
  const sel = Math.min(app.state.selected, snap.lanes.length - 1);
  const current = snap.lanes[sel];
  const prefix = current.weights === "ema" ? "ema_" : "";
  const m = current.metrics || {};
  $("train-loss").textContent = fmt(m[`${prefix}train_loss`]);
  $("train-total").textContent = fmt(m[`${prefix}train_total`]);
  $("test-loss").textContent = fmt(m[`${prefix}test_loss`]);
  $("test-total").textContent = fmt(m[`${prefix}test_total`]);
  const acc = m[`${prefix}train_accuracy`];
  $("accuracy").textContent = acc === undefined || acc === null ? "" :
    `accuracy: train ${(acc * 100).toFixed(1)}%` + (m[`${prefix}test_accuracy`] != null ? ` · test ${(m[`${prefix}test_accuracy`] * 100).toFixed(1)}%` : "");
  $("lr-value").textContent = fmt(m.lr);
  const series = app.series[sel] || [];
  const now = performance.now();
  const chartsDue = now - (app.chartsAt || 0) > 66 || !app.playing; // curves move slowly: ~15/s
  if (chartsDue) app.chartsAt = now;
  if (chartsDue) drawChart($("loss-chart"), [
    seriesLine(series, `${prefix}train_loss`, TRAIN_LINE),
    seriesLine(series, `${prefix}train_total`, TRAIN_LINE, true),
    seriesLine(series, `${prefix}test_loss`, TEST_LINE),
    seriesLine(series, `${prefix}test_total`, TEST_LINE, true),
  ]);
  if (chartsDue) drawChart($("lr-chart"), [seriesLine(series, "lr", "#183d4e")], { zero: true, log: false });
  drawHeatmap($("heatmap"), current.heatmap);
  renderAxes();
  const info = app.lanesInfo[sel];
  let note = "";
  if (app.state.weights === "ema" && info && !info.ema) note = "EMA is off for this lane: showing the raw weights. Turn on Moving average to keep a shadow.";
  else if (current.weights === "ema") note = "Showing the moving-average (shadow) weights and their losses.";
  $("weights-note").textContent = note;
  if (current.error) $("weights-note").textContent = current.error;
  if (snap.network) updateNetwork(snap.network);
  // race
  if (snap.lanes.length > 1) {
    const cards = $("lanes").children;
    snap.lanes.forEach((l, i) => {
      const card = cards[i];
      if (!card) return;
      drawHeatmap(card.querySelector("canvas"), l.heatmap, { small: true });
      const lm = l.metrics || {};
      const p = l.weights === "ema" ? "ema_" : "";
      const accText = lm[`${p}train_accuracy`] != null ? ` · acc ${(lm[`${p}train_accuracy`] * 100).toFixed(0)}%` : "";
      card.querySelector(".lane-metrics").textContent = `step ${l.step.toLocaleString("en")} · loss ${fmt(lm[`${p}train_loss`])}${accText}`;
      card.querySelector(".lane-error").textContent = l.error || "";
    });
    const lines = [];
    snap.lanes.forEach((l, i) => {
      const p = l.weights === "ema" ? "ema_" : "";
      lines.push(seriesLine(app.series[i] || [], `${p}train_loss`, LANE_COLORS[i]));
      lines.push(seriesLine(app.series[i] || [], `${p}test_loss`, LANE_COLORS[i], true));
    });
    if (chartsDue) drawChart($("race-chart"), lines);
  }
}

function loop() {
  if (app.dirty) {
    app.dirty = false;
    draw();
    const now = performance.now();
    app.frameTimes.push(now);
    while (app.frameTimes.length && now - app.frameTimes[0] > 2000) app.frameTimes.shift();
    window.nnoptFrames = (window.nnoptFrames || 0) + 1; // read by the browser tests
  }
  requestAnimationFrame(loop);
}

// ---------------------------------------------------------------- export / import

function showExport(m) {
  $("export-lane").textContent = app.state.lanes.length > 1 ? `(lane ${m.lane + 1})` : "";
  $("export-toml").value = m.toml;
  const weightsText = JSON.stringify(m.weights, null, 1);
  $("export-weights").value = weightsText;
  const weightsName = m.which === "ema" ? "weights-ema.json" : "weights.json";
  $("weights-label").textContent = `${weightsName} (${m.which} weights)`;
  $("download-weights").textContent = `Download ${weightsName}`;
  $("download-toml").onclick = () => download("playground.toml", m.toml, "application/toml");
  $("download-weights").onclick = () => download(weightsName, weightsText, "application/json");
  $("export-dialog").showModal();
  $("export-toml").scrollTop = 0;
  $("export-weights").scrollTop = 0;
}

function download(name, text, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---------------------------------------------------------------- start

bindControls();
connect();
requestAnimationFrame(loop);
setInterval(renderPlayer, 500);
window.nnopt = app; // for the browser tests and the curious
