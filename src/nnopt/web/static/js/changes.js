// The changes a user makes to page.state, each passed on where it must go: the URL hash,
// the controls, and the server (a "setup" for what trains, a "view" for what is shown).

import { send, sendSetup } from "./connection.js";
import { showError } from "./errors.js";
import { renderControls } from "./menus.js";
import { buildNetwork } from "./network.js";
import { markSelectedLane } from "./race.js";
import { fallbackLoss, lossFits, page, selectedLane, taskOf, updateUrl } from "./state.js";

// After an edit of page.state's data or lanes: the URL and the controls follow at once,
// the server after a short pause (or `now`). Its "ready" or "error" answers.
export function commit(now = false) {
  updateUrl();
  renderControls();
  sendSetup(now);
}

export function setData(key, value) {
  page.state.data[key] = value;
  fitLosses();
  commit();
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
