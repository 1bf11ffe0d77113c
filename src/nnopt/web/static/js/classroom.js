// Classroom mode: controls a teacher hides, named in the URL (#hide=learning_rate,optimizer),
// so a class sees only what the lesson is about. A name is a lane setting of the hyper bar
// (its data-key: optimizer, learning_rate, loss ...) or one of the page's parts below.

import { page } from "./state.js";

const PARTS = {
  data: "#datasets, #upload-status",
  features: "#features-part",
  noise: ".slider:has(#noise)",
  test_fraction: ".slider:has(#test_fraction)",
  layers: ".network-head button, .layer-head button",
  race: "section.race",
  lecture: "#lecture-toggle, #lecture",
  import: "#open-import",
  export: "#export",
  weights: ".view-controls .toggle",
};

// The names a link may hide: the hyper bar's settings and the parts above.
export function hideable() {
  const keys = [...document.querySelectorAll(".hyper-bar [data-key]")].map((el) => el.dataset.key);
  return [...new Set([...keys, ...Object.keys(PARTS)])];
}

export function renderClassroom() {
  for (const el of document.querySelectorAll(".classroom-hidden")) el.classList.remove("classroom-hidden");
  for (const name of page.state.hide || []) {
    if (name in PARTS) {
      for (const el of document.querySelectorAll(PARTS[name])) el.classList.add("classroom-hidden");
      continue;
    }
    const input = document.querySelector(`.hyper-bar [data-key="${CSS.escape(name)}"]`);
    if (!input) continue;
    // a setting with its own column hides the column; one inside a group hides itself
    const ctl = input.closest(".ctl");
    const alone = ctl && ctl.querySelectorAll("[data-key]").length === 1;
    (alone ? ctl : input.closest("label.check") || input).classList.add("classroom-hidden");
  }
}
