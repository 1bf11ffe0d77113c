// Raw and EMA side by side (the "both" weights view): the decision map of the moving-average
// (shadow) weights beside the raw one, and one chart with both losses, so the moving
// average's smoothing is visible at once. The server sends heatmap_ema for a lane that keeps
// a shadow while the view is "both"; the metrics hold the ema_ losses anyway.

import { drawChart, seriesLine } from "./chart.js";
import { TEST_LINE, TRAIN_LINE } from "./colors.js";
import { drawHeatmap } from "./heatmap.js";
import { page } from "./state.js";
import { $, fmt } from "./util.js";

export const EMA_LINE = "#2ca02c";

// Called by the draw loop with the shown lane's snapshot and series.
export function drawBoth(current, series, chartsDue) {
  const on = page.state.weights === "both" && !!current.heatmap_ema;
  $("both-view").hidden = !on;
  if (page.state.weights === "both" && !on && !current.error) {
    $("weights-note").textContent = "EMA is off for this lane: showing the raw weights only. Turn on Moving average to compare.";
  }
  if (!on) return;
  drawHeatmap($("heatmap-ema"), current.heatmap_ema);
  const m = current.metrics || {};
  $("both-numbers").textContent =
    `training loss: raw ${fmt(m.train_loss)} · EMA ${fmt(m.ema_train_loss)}` +
    (m.test_loss != null ? ` — test loss: raw ${fmt(m.test_loss)} · EMA ${fmt(m.ema_test_loss)}` : "");
  if (!chartsDue) return;
  drawChart($("loss-chart-both"), [
    seriesLine(series, "train_loss", TRAIN_LINE),
    seriesLine(series, "ema_train_loss", EMA_LINE),
    seriesLine(series, "test_loss", TEST_LINE, true),
    seriesLine(series, "ema_test_loss", EMA_LINE, true),
  ]);
}
