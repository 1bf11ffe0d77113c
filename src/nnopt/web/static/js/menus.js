// The controls' contents and their display: the menus and the losses' number inputs built
// from the server's registries (hello.choices), and page.state shown in every control.
// What a control does when used is controls.js's.

import { LANE_COLORS } from "./colors.js";
import { buildDatasetTiles, renderDatasets } from "./datasets.js";
import { buildFeatureTiles, renderFeatures } from "./features.js";
import { renderClassroom } from "./classroom.js";
import { applyLang } from "./i18n.js";
import { renderLecture } from "./lecture.js";
import { choices, page, selectedLane, taskOf, lossFits } from "./state.js";
import { $, plural, spaced } from "./util.js";

// items: [{name, label?, summary?}] or names; the label is the registry's, else the name.
function fillSelect(el, items) {
  el.innerHTML = "";
  for (const item of items) {
    const { name, label, summary } = typeof item === "string" ? { name: item } : item;
    const o = document.createElement("option");
    o.value = name;
    o.textContent = label || spaced(name);
    if (summary) o.title = summary;
    el.appendChild(o);
  }
}

export function buildMenus() {
  const c = choices();
  fillSelect($("optimizer"), c.optimizers);
  fillSelect($("activation"), c.activations);
  fillSelect($("init"), c.initializers);
  fillSelect($("ema_order"), c.ema_orders);
  fillSelect($("loss"), c.losses);
  buildLossNumbers(c.losses);
  fillSelect($("regularizer"), c.regularizers);
  fillSelect($("schedule"), c.schedules);
  fillSelect($("speed"), c.speeds);
  fillSelect($("vary-field"), Object.keys(c.race));
  $("max-lanes").textContent = page.hello.limits.lanes;
  $("vary-values").value = c.race[$("vary-field").value].values;
  buildDatasetTiles();
  buildFeatureTiles();
}

// Each loss with numbers of its own (cost_profit: cost, profit) gets a group of inputs next
// to the loss menu, shown while that loss is chosen; a number is a lane setting of its name.
function buildLossNumbers(losses) {
  const row = $("loss").parentElement;
  for (const old of row.querySelectorAll("[data-loss-numbers]")) old.remove();
  for (const loss of losses) {
    if (!loss.numbers.length) continue;
    const group = document.createElement("span");
    group.className = "sub";
    group.dataset.lossNumbers = loss.name;
    group.dataset.when = `loss=${loss.name}`;
    for (const number of loss.numbers) group.append(...numberInput(loss.name, number));
    row.appendChild(group);
  }
}

// number: {name, default, low, high, low_open, high_open, rule, summary}
function numberInput(lossName, number) {
  const unit = document.createElement("span");
  unit.className = "unit";
  unit.textContent = spaced(number.name);
  const input = document.createElement("input");
  input.id = `${lossName}-${number.name}`;
  input.type = "text";
  input.inputMode = "decimal";
  input.size = Math.max(3, String(number.default).length);
  input.dataset.key = number.name;
  input.title = `${number.summary} (${number.rule})`;
  return [unit, input];
}

// Shows page.state in every control (a text field being typed in is left alone).
export function renderControls() {
  const l = selectedLane();
  for (const el of document.querySelectorAll(".hyper-bar [data-key]")) {
    const v = l[el.dataset.key];
    if (el.type === "checkbox") el.checked = !!v;
    else if (document.activeElement !== el || el.tagName === "SELECT") el.value = v;
  }
  showWhen(l);
  const task = taskOf(page.state.data.name);
  for (const o of $("loss").options) o.disabled = !lossFits(o.value, task);
  renderDataControls(page.state.data);
  $("speed").value = page.state.speed;
  $("show-test").checked = page.state.showTest;
  $("discrete").checked = page.state.discrete;
  $("weights-raw").classList.toggle("on", page.state.weights === "raw");
  $("weights-ema").classList.toggle("on", page.state.weights === "ema");
  $("weights-both").classList.toggle("on", page.state.weights === "both");
  $("layers-title").textContent = plural(l.hidden.length, "hidden layer");
  renderEditing();
  renderDatasets();
  renderFeatures();
  renderLecture();
  applyLang();
  renderClassroom();
}

// data-when="key=value" shows an element while the lane's key has that value,
// data-when="key!=value" while it has another.
function showWhen(l) {
  for (const el of document.querySelectorAll("[data-when]")) {
    const [key, op, want] = el.dataset.when.split(/(!=|=)/);
    const v = String(l[key]);
    el.hidden = op === "=" ? v !== want : v === want;
  }
}

function renderDataControls(d) {
  $("test_fraction").value = Math.round(d.test_fraction * 100);
  $("test_fraction-value").textContent = `${Math.round(d.test_fraction * 100)}%`;
  $("noise").value = Math.round(d.noise * 100);
  $("noise-value").textContent = `${Math.round(d.noise * 100)}`;
  $("n_samples").value = d.n_samples;
  $("data_seed").value = d.seed;
}

// In a race the hyper bar says which lane it edits.
function renderEditing() {
  const editing = $("editing");
  const { lanes, selected } = page.state;
  editing.hidden = lanes.length < 2;
  editing.innerHTML = `<span style="color:${LANE_COLORS[selected]}">●</span> editing lane ${selected + 1} of ${lanes.length}`;
}
