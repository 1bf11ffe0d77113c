// The epoch counter beside the step counter: epochs = steps · batch size / training rows
// (as TensorFlow Playground counts them), for the lane the controls edit.

import { page } from "./state.js";
import { $ } from "./util.js";

export function epochOf(step, batch, rows) {
  return rows > 0 ? (step * batch) / rows : 0;
}

export function renderEpoch() {
  const snap = page.snapshot;
  const accepted = page.accepted;
  if (!snap || !accepted || !page.data) return;
  const sel = Math.min(page.state.selected, snap.lanes.length - 1);
  const lane = accepted.lanes[sel];
  const epoch = epochOf(snap.lanes[sel].step, lane ? lane.batch_size : 0, page.data.train.length);
  $("epoch-count").textContent = epoch.toLocaleString("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}
