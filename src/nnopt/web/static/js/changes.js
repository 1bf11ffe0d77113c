// The changes a user makes to page.state, each passed on where it must go: the URL hash,
// the controls, and the server (a "setup" for what trains, a "view" for what is shown).

import { send, sendSetup } from "./connection.js";
import { showError } from "./errors.js";
import { renderControls } from "./menus.js";
import { buildNetwork } from "./network.js";
import { markSelectedLane } from "./race.js";
import { choices, fallbackLoss, lossFits, page, selectedLane, taskOf, updateUrl } from "./state.js";

// After an edit of page.state's data or lanes: the URL and the controls follow at once,
// the server after a short pause (or `now`). Its "ready" or "error" answers.
export function commit(now = false) {
  updateUrl();
  renderControls();
  sendSetup(now);
}

export function setData(key, value) {
  page.state.data[key] = value;
  fitData();
  commit();
}

// The lanes made to fit the data: a loss that fits its task, a batch that fits its rows.
export function fitData() {
  fitLosses();
  fitBatches();
}

// A loss that does not fit the data (e.g. cross entropy on regression) is replaced.
export function fitLosses() {
  const task = taskOf(page.state.data.name);
  const lanes = page.state.lanes;
  lanes.forEach((l, i) => {
    if (lossFits(l.loss, task)) return;
    const loss = fallbackLoss(task);
    showError(`${lanes.length > 1 ? `lane ${i + 1}: ` : ""}loss ${l.loss} does not fit ${task} data; using ${loss}`);
    l.loss = loss;
  });
}

// A batch larger than the training rows (yogurt's 22 against the default 30) is lowered to
// them: every step then uses all the rows, as the lecture's full-batch runs do.
export function fitBatches() {
  const rows = trainingRows(page.state.data);
  if (rows === null) return;
  const lanes = page.state.lanes;
  lanes.forEach((l, i) => {
    if (typeof l.batch_size !== "number" || l.batch_size <= rows) return;
    showError(`${lanes.length > 1 ? `lane ${i + 1}: ` : ""}batch size ${l.batch_size} is larger than ` +
      `the ${rows} training rows of ${page.state.data.name}; using ${rows}`);
    l.batch_size = rows;
  });
}

// The training rows of generated data, n - round(n * test_fraction) as the server splits
// them (Python's round: halves to even); null when the page cannot know (an upload).
function trainingRows(data) {
  const spec = choices().datasets.find((d) => d.name === data.name);
  if (!spec || typeof data.test_fraction !== "number") return null;
  const n = Number(data.n_samples) > 0 ? Number(data.n_samples) : spec.size;
  const t = n * data.test_fraction;
  const held = Math.abs(t % 1 - 0.5) < 1e-9 ? 2 * Math.round(t / 2) : Math.round(t);
  return Math.max(1, n - held);
}

// change(hidden) edits the selected lane's hidden layer sizes in place.
export function editLayers(change) {
  change(selectedLane().hidden);
  commit();
}

export function setWeights(which) {
  page.state.weights = which;
  updateUrl();
  renderControls();
  send({ type: "view", weights: which });
}

// Another lane to edit and to show in the network view; the lanes themselves stay.
export function selectLane(index) {
  if (page.state.selected === index) return;
  page.state.selected = index;
  updateUrl();
  send({ type: "view", selected: index });
  page.accepted.selected = index;
  renderControls();
  buildNetwork();
  markSelectedLane(index);
}
