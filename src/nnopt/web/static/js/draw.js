// One frame of the view from the last snapshot: the output column's numbers, curves and
// heatmap, the network's thumbnails and weights, and the race.

import { drawChart, seriesLine } from "./chart.js";
import { RATE_LINE, TEST_LINE, TRAIN_LINE } from "./colors.js";
import { drawBoth } from "./compare.js";
import { drawHeatmap, renderAxes } from "./heatmap.js";
import { drawLandscape } from "./landscape.js";
import { hoveredNeuron, updateNetwork } from "./network.js";
import { drawRace } from "./race.js";
import { page } from "./state.js";
import { $, fmt } from "./util.js";

const CHART_INTERVAL = 66; // ms: the curves and the links move slowly, ~15 redraws a second are plenty
let chartsAt = 0;

export function draw() {
  const snap = page.snapshot;
  if (!snap || !page.data) return;
  const sel = Math.min(page.state.selected, snap.lanes.length - 1);
  const current = snap.lanes[sel];
  const prefix = current.weights === "ema" ? "ema_" : ""; // the metrics of the shown weights
  const now = performance.now();
  const chartsDue = now - chartsAt > CHART_INTERVAL || !page.playing;
  if (chartsDue) chartsAt = now;
  showNumbers(current.metrics || {}, prefix);
  if (chartsDue) drawCurves(page.series[sel] || [], prefix);
  const neuron = hoveredNeuron(); // a hovered neuron's output replaces the model's
  drawHeatmap($("heatmap"), neuron ? neuron.bytes : current.heatmap, { neuron: !!neuron });
  renderAxes();
  showWeightsNote(current, page.lanesInfo[sel], neuron);
  drawBoth(current, page.series[sel] || [], chartsDue); // raw and EMA side by side (compare.js)
  drawLandscape(); // a two-number model's loss surface and paths (landscape.js)
  if (snap.network) updateNetwork(snap.network, chartsDue);
  drawRace(snap, chartsDue);
}

function showNumbers(m, prefix) {
  $("train-loss").textContent = fmt(m[`${prefix}train_loss`]);
  $("train-total").textContent = fmt(m[`${prefix}train_total`]);
  $("test-loss").textContent = fmt(m[`${prefix}test_loss`]);
  $("test-total").textContent = fmt(m[`${prefix}test_total`]);
  const train = m[`${prefix}train_accuracy`];
  const test = m[`${prefix}test_accuracy`];
  $("accuracy").textContent = train === undefined || train === null ? "" :
    `accuracy: train ${(train * 100).toFixed(1)}%` + (test != null ? ` · test ${(test * 100).toFixed(1)}%` : "");
  $("lr-value").textContent = fmt(m.lr);
}

function drawCurves(series, prefix) {
  drawChart($("loss-chart"), [
    seriesLine(series, `${prefix}train_loss`, TRAIN_LINE),
    seriesLine(series, `${prefix}train_total`, TRAIN_LINE, true),
    seriesLine(series, `${prefix}test_loss`, TEST_LINE),
    seriesLine(series, `${prefix}test_total`, TEST_LINE, true),
  ]);
  drawChart($("lr-chart"), [seriesLine(series, "lr", RATE_LINE)], { zero: true, log: false });
}

// Which weights the heatmap shows, or the lane's error.
function showWeightsNote(current, info, neuron) {
  let note = "";
  if (neuron) note = `Showing neuron ${neuron.index + 1} of layer ${neuron.layer} (its output over the plane, scaled to -1..1).`;
  else
  if (page.state.weights === "ema" && info && !info.ema) note = "EMA is off for this lane: showing the raw weights. Turn on Moving average to keep a shadow.";
  else if (current.weights === "ema") note = "Showing the moving-average (shadow) weights and their losses.";
  $("weights-note").textContent = current.error || note;
}
