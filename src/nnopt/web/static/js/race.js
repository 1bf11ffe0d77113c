// The race: one card per lane (its heatmap, label and numbers), the race chart, and the
// lanes a "vary" race compares. Clicks on the cards and the builder's buttons are
// controls.js's; this module draws and computes.

import { drawChart, seriesLine } from "./chart.js";
import { LANE_COLORS } from "./colors.js";
import { drawHeatmap } from "./heatmap.js";
import { choices, page, selectedLane } from "./state.js";
import { $, clone, fmt, parseLike, same, spaced } from "./util.js";

const racing = () => page.state.lanes.length > 1;

// The lanes of a race over `field` with the comma-separated `text` values, each a copy of
// the selected lane (with the settings the suggestion needs, e.g. ema on for ema_decay);
// {problem} when the values cannot make a race.
export function raceLanes(field, text) {
  const example = page.hello.defaults.lane[field];
  const values = text.split(",").map((v) => v.trim()).filter((v) => v !== "");
  const limit = page.hello.limits.lanes;
  if (values.length < 1) return { problem: "race: list the values to compare, separated by commas" };
  if (values.length > limit) return { problem: `race: ${values.length} values; a race has at most ${limit} lanes` };
  const base = selectedLane();
  const also = choices().race[field].also || {};
  return { lanes: values.map((v) => ({ ...clone(base), ...also, [field]: parseLike(v, example) })) };
}

// What sets a lane apart: its optimizer and rate, and every setting where the lanes differ.
function laneLabel(l, i) {
  const lanes = page.state.lanes;
  const shown = (key) => `${spaced(key)} ${Array.isArray(l[key]) ? l[key].join("-") : l[key]}`;
  const parts = [`${l.optimizer}`, `lr ${l.learning_rate}`];
  for (const key of Object.keys(l)) {
    if (key === "optimizer" || key === "learning_rate") continue;
    const differs = i > 0 ? !same(l[key], lanes[0][key]) : lanes.some((o) => !same(o[key], l[key]));
    if (differs) parts.push(shown(key));
  }
  return parts.join(" · ");
}

// The cards, rebuilt from page.state.lanes (after a ready or a rejected setup).
export function renderLanes() {
  const box = $("lanes");
  box.innerHTML = "";
  $("race-chart").hidden = !racing();
  document.body.classList.toggle("racing", racing()); // style.css: on a short screen a race comes first
  $("race-legend").textContent = racing() ? "solid: training loss · dashed: test loss (data loss, the weights chosen above)" : "";
  if (!racing()) return;
  page.state.lanes.forEach((l, i) => {
    const card = document.createElement("div");
    card.className = "lane" + (i === page.state.selected ? " selected" : "");
    card.dataset.index = i;
    card.innerHTML = `<div class="lane-title"><span class="dot" style="background:${LANE_COLORS[i]}"></span>lane ${i + 1}</div>` +
      `<div class="lane-label"></div><canvas width="158" height="158"></canvas>` +
      `<div class="lane-metrics">–</div><div class="lane-error"></div>` +
      `<button class="remove" title="remove this lane">×</button>`;
    card.querySelector(".lane-label").textContent = laneLabel(l, i);
    box.appendChild(card);
  });
}

export function markSelectedLane(index) {
  for (const card of $("lanes").children) card.classList.toggle("selected", Number(card.dataset.index) === index);
}

// Per frame: each card's heatmap and numbers; the race chart when `chartsDue`.
export function drawRace(snap, chartsDue) {
  if (snap.lanes.length < 2) return;
  const cards = $("lanes").children;
  snap.lanes.forEach((l, i) => {
    const card = cards[i];
    if (!card) return;
    drawHeatmap(card.querySelector("canvas"), l.heatmap, { small: true });
    const m = l.metrics || {};
    const p = l.weights === "ema" ? "ema_" : "";
    const acc = m[`${p}train_accuracy`] != null ? ` · acc ${(m[`${p}train_accuracy`] * 100).toFixed(0)}%` : "";
    card.querySelector(".lane-metrics").textContent = `step ${l.step.toLocaleString("en")} · loss ${fmt(m[`${p}train_loss`])}${acc}`;
    card.querySelector(".lane-error").textContent = l.error || "";
  });
  if (!chartsDue) return;
  const lines = snap.lanes.flatMap((l, i) => {
    const p = l.weights === "ema" ? "ema_" : "";
    const series = page.series[i] || [];
    return [seriesLine(series, `${p}train_loss`, LANE_COLORS[i]), seriesLine(series, `${p}test_loss`, LANE_COLORS[i], true)];
  });
  drawChart($("race-chart"), lines);
}
