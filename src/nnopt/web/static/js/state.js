// The page's state, declared once, and its mirror in the URL hash.
//
// Every module imports `page` from here and reads or edits it in place; none keeps its own
// copy of app-wide state (modules keep only private bookkeeping: timers, caches, DOM
// handles). The shape:
//
//   page.hello       the server's first message: {session, choices, limits, defaults, chunk,
//                    previews}; the menus, caps and defaults all come from it
//   page.session     this tab's session id (it authorizes the CSV upload)
//   page.state       what the user chose, mirrored in the URL hash:
//                      data      {name, noise, test_fraction, seed, n_samples, inputs}
//                      lanes     [{hidden, activation, init, loss, <the losses' numbers>,
//                                  optimizer, learning_rate, schedule, decay_rate, decay_steps,
//                                  staircase, ema, ema_decay, num_updates, regularizer,
//                                  reg_scale, batch_size, seed}]  (keys: hello.defaults.lane)
//                      selected  the lane the controls edit and the network view shows
//                      weights   "raw" | "ema" | "both" (which weights are shown; both: side by side)
//                      showTest  whether the test points are drawn
//                      discrete  whether the heatmap shows the predicted class only
//                      lecture   the lecture experiment shown in lecture mode ("" = closed)
//                      lang      "en" | "zh": the UI text's language (i18n.js)
//                      hide      the controls classroom mode hides (classroom.js)
//                      speed     one of hello.choices.speeds
//   page.accepted    the last setup the server accepted: {data, lanes, selected}
//   page.lanesInfo   per lane, from "ready": {layers, output_activation, parameters, ema}
//   page.data        the points: {task, classes, extent, target_range, train, test}
//   page.snapshot    the last "snapshot": {playing, step, rate, lanes: [{step, error, weights,
//                    metrics, heatmap}], network: {lane, neurons, weights}}
//   page.series      per lane, the metrics over time: [{step, m}] (at most SERIES_MAX)
//   page.playing     whether the server is training
//   page.playedAt    the step when Play was pressed (to show "compiling" until it moves)
//   page.frameTimes  when the last frames were drawn (the updates/s in the player bar)
//   page.dirty       a frame is due: the draw loop draws on its next tick
//   page.landscape   a two-number model's loss surface {names, a, b, total}, or null
//   page.paths       per lane, its numbers over time [[a, b]...] (landscape.js)
//
// Flow: "hello" -> page.state from the URL -> "setup" -> "ready" (accepted, data) ->
// "snapshot"s. A control edits page.state; the URL and the server follow (see setup.js).

import { hideable } from "./classroom.js";
import { langFromUrl } from "./i18n.js";
import { clone, parseLike, same } from "./util.js";

export const SERIES_MAX = 600;
const DEFAULT_SPEED = "fast"; // the server's own starting speed

export const page = {
  hello: null,
  session: null,
  state: null,
  accepted: null,
  lanesInfo: [],
  data: null,
  snapshot: null,
  series: [],
  playing: false,
  playedAt: null,
  frameTimes: [],
  dirty: false,
  landscape: null,
  paths: [],
};

export const choices = () => page.hello.choices;
export const selectedLane = () => page.state.lanes[page.state.selected];

// The task ("binary", "multiclass", "regression") of a dataset; uploaded points are binary.
export function taskOf(name) {
  if (name === "upload") return "binary";
  const d = choices().datasets.find((x) => x.name === name);
  return d ? d.task : "binary";
}

export function lossFits(loss, task) {
  const spec = choices().losses.find((l) => l.name === loss);
  return !!spec && spec.tasks.includes(task);
}

// The loss a lane falls back to when its own does not fit the data: the default if it
// fits, else the first registered loss that does.
export function fallbackLoss(task) {
  const preferred = page.hello.defaults.lane.loss;
  if (lossFits(preferred, task)) return preferred;
  return choices().losses.find((l) => l.tasks.includes(task)).name;
}

// ---------------------------------------------------------------- the URL hash

// #data=circle&test=0.3&lane=optimizer:adam,learning_rate:0.03&lane=optimizer:sgd&sel=1
// A lane lists only the settings that differ from the defaults. Old links must keep
// working: the short names and the encodings below are the link format.
const DATA_KEYS = { noise: "noise", test_fraction: "test", seed: "dseed", n_samples: "points", inputs: "inputs" };

function encodeState(s) {
  const p = new URLSearchParams();
  const dd = page.hello.defaults.data;
  p.set("data", s.data.name);
  for (const [key, short] of Object.entries(DATA_KEYS)) {
    const v = s.data[key];
    if (!same(v, dd[key])) p.set(short, Array.isArray(v) ? v.join("-") : v); // inputs: x0-x0_squared
  }
  for (const l of s.lanes) p.append("lane", encodeLane(l));
  if (s.selected) p.set("sel", s.selected);
  if (s.weights !== "raw") p.set("view", s.weights);
  if (!s.showTest) p.set("testpoints", "0");
  if (s.discrete) p.set("discrete", "1");
  if (s.lecture) p.set("lecture", s.lecture);
  if (s.lang !== "en") p.set("lang", s.lang);
  if (s.hide.length) p.set("hide", s.hide.join(","));
  if (s.speed !== DEFAULT_SPEED) p.set("speed", s.speed);
  return "#" + p.toString().replace(/%3A/gi, ":").replace(/%2C/gi, ","); // readable; still valid
}

function encodeLane(l) {
  const dl = page.hello.defaults.lane;
  const parts = [];
  for (const key of Object.keys(dl)) {
    const v = l[key];
    if (same(v, dl[key])) continue;
    const text = Array.isArray(v) ? v.join("-") : typeof v === "boolean" ? (v ? "1" : "0") : String(v);
    parts.push(`${key}:${text}`);
  }
  return parts.join(",");
}

function decodeLane(text, unknown) {
  const dl = page.hello.defaults.lane;
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

// page.state as the URL describes it (the defaults where it is silent), and the problems
// found on the way, for the error bar.
export function stateFromUrl() {
  const d = page.hello.defaults;
  const s = { data: clone(d.data), lanes: [], selected: 0, weights: "raw", showTest: true, speed: DEFAULT_SPEED, discrete: false, lecture: "", lang: "en", hide: [] };
  const p = new URLSearchParams(location.hash.slice(1));
  const unknown = [];
  const problems = [];
  if (p.has("data")) s.data.name = p.get("data");
  for (const [key, short] of Object.entries(DATA_KEYS)) {
    if (p.has(short)) s.data[key] = parseLike(p.get(short), d.data[key]);
  }
  s.lanes = p.getAll("lane").slice(0, page.hello.limits.lanes).map((t) => decodeLane(t, unknown));
  if (!s.lanes.length) s.lanes = [clone(d.lane)];
  s.selected = Math.min(Math.max(0, parseInt(p.get("sel") || "0", 10) || 0), s.lanes.length - 1);
  s.weights = ["ema", "both"].includes(p.get("view")) ? p.get("view") : "raw";
  s.showTest = p.get("testpoints") !== "0";
  s.discrete = p.get("discrete") === "1";
  s.lecture = p.get("lecture") || "";
  s.lang = langFromUrl(p);
  s.hide = (p.get("hide") || "").split(",").filter(Boolean);
  const unknownHide = s.hide.filter((n) => !hideable().includes(n));
  if (unknownHide.length) problems.push(`the link hides unknown controls ${unknownHide.join(", ")}; controls are ${hideable().join(", ")}`);
  if (choices().speeds.includes(p.get("speed"))) s.speed = p.get("speed");
  if (unknown.length) problems.push(`the link has unknown settings ${unknown.join(", ")}; they were left out`);
  if (s.data.name === "upload") {
    s.data.name = d.data.name;
    problems.push("uploaded points are not part of a link: upload the CSV again (the link's other settings are kept)");
  }
  return { state: s, problems };
}

export function updateUrl() {
  const hash = encodeState(page.state);
  if (location.hash !== hash) history.replaceState(null, "", hash);
}
