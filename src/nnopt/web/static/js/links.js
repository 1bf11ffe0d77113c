// A link (the URL hash) applied to the page: on load and whenever the user edits the hash in
// an open tab. Its menu settings are checked against the server's registries first, so
// that every problem of a bad link is named at once (the server names only the first
// problem of a setup); a setup the server still refuses starts over from the defaults.

import { commit, fitData } from "./changes.js";
import { showError } from "./errors.js";
import { choices, page, stateFromUrl } from "./state.js";
import { clone } from "./util.js";

// A lane setting -> the registry (hello.choices) its value must name.
const MENUS = {
  optimizer: "optimizers",
  activation: "activations",
  init: "initializers",
  loss: "losses",
  regularizer: "regularizers",
  schedule: "schedules",
};

const names = (items) => items.map((item) => (typeof item === "string" ? item : item.name));

let linkProblems = null; // the problems of the link being tried, until the server answers

// page.state from the URL; the link's problems are shown together, in one error.
export function applyLink() {
  const { state, problems } = stateFromUrl();
  problems.push(...checkMenus(state));
  page.state = state;
  fitData();
  linkProblems = problems;
  if (problems.length) showError(problems.join("\n"));
  commit(true);
}

// A menu value the registry does not have becomes the default, and is named.
function checkMenus(state) {
  const problems = [];
  const d = page.hello.defaults;
  const datasets = names(choices().datasets);
  if (!datasets.includes(state.data.name)) {
    problems.push(`the link's dataset '${state.data.name}' is unknown (choose ${datasets.join(", ")}); using ${d.data.name}`);
    state.data.name = d.data.name;
  }
  state.lanes.forEach((lane, i) => {
    const where = state.lanes.length > 1 ? `lane ${i + 1}: ` : "";
    for (const [key, registry] of Object.entries(MENUS)) {
      const allowed = names(choices()[registry]);
      if (allowed.includes(lane[key])) continue;
      problems.push(`${where}the link's ${key} '${lane[key]}' is unknown (choose ${allowed.join(", ")}); using ${d.lane[key]}`);
      lane[key] = d.lane[key];
    }
  });
  return problems;
}

// The server accepted a setup: the link, if one was being tried, is done.
export function linkAccepted() {
  linkProblems = null;
}

// The server refused a setup: null if it was not a link's. A link's problems are shown
// together with the refusal; a page that has trained nothing yet then starts from the
// defaults (keeping the view settings): {reset: true}. Otherwise {reset: false}, and the
// caller puts the controls back to what trains.
export function linkRefused(message) {
  if (linkProblems === null) return null;
  const lines = [...linkProblems, `the link's settings were refused: ${message}`];
  linkProblems = null;
  if (page.accepted) {
    showError(lines.concat("keeping the setup that was training").join("\n"));
    return { reset: false };
  }
  const d = page.hello.defaults;
  page.state = { ...page.state, data: clone(d.data), lanes: [clone(d.lane)], selected: 0 };
  showError(lines.concat("starting from the defaults").join("\n"));
  commit(true);
  return { reset: true };
}
