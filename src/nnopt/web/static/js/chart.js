// Line charts on a canvas: the loss and rate curves of the output column and the race's.

import { fmt } from "./util.js";

const PAD = 4;
const BOTTOM = 13; // a strip under the plot for the step labels
const LOG_SPAN = 50; // a positive curve spanning more than this factor is drawn on a log axis

// One line of a metric over the steps: series is [{step, m}] (see page.series).
export function seriesLine(series, key, color, dash) {
  return { points: series.map((p) => [p.step, p.m[key] ?? null]), color, dash };
}

// lines: [{points: [[x, y]...], color, dash, width}]; opts.zero starts the y axis at 0,
// opts.log = false never uses a log axis.
export function drawChart(canvas, lines, opts = {}) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const finite = (p) => p[1] !== null && Number.isFinite(p[1]);
  const all = lines.flatMap((l) => l.points).filter(finite);
  if (all.length < 1) return;
  const x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  if (x1 === x0) x1 = x0 + 1;
  const ys = all.map((p) => p[1]);
  const positive = ys.every((y) => y > 0);
  let lo = opts.zero ? 0 : Math.min(...ys);
  let hi = Math.max(...ys);
  const log = opts.log !== false && positive && hi / Math.max(Math.min(...ys), 1e-30) > LOG_SPAN;
  const ty = log ? (y) => Math.log10(y) : (y) => y;
  if (log) { lo = Math.log10(Math.min(...ys)); hi = Math.log10(hi); }
  if (hi === lo) hi = lo + 1;
  const sx = (x) => PAD + ((x - x0) / (x1 - x0)) * (W - 2 * PAD);
  const sy = (y) => H - BOTTOM - ((ty(y) - lo) / (hi - lo)) * (H - BOTTOM - 2 * PAD);
  for (const line of lines) {
    let pts = line.points.filter(finite);
    if (!pts.length) continue;
    const every = Math.ceil(pts.length / (W / 2)); // no more than a point per 2 pixels
    if (every > 1) pts = pts.filter((_, k) => k % every === 0 || k === pts.length - 1);
    ctx.beginPath();
    ctx.strokeStyle = line.color;
    ctx.lineWidth = line.width || 1.5;
    ctx.setLineDash(line.dash ? [4, 3] : []);
    pts.forEach((p, i) => (i ? ctx.lineTo(sx(p[0]), sy(p[1])) : ctx.moveTo(sx(p[0]), sy(p[1]))));
    ctx.stroke();
  }
  ctx.setLineDash([]);
  drawLabels(ctx, W, H, { x0, x1, top: log ? 10 ** hi : hi, log });
}

function drawLabels(ctx, W, H, { x0, x1, top, log }) {
  ctx.fillStyle = "#999";
  ctx.font = "10px Helvetica, Arial, sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(`${fmt(top)}${log ? " (log)" : ""}`, W - 4, 11);
  ctx.fillText(`step ${Math.round(x1).toLocaleString("en")}`, W - 4, H - 2);
  ctx.textAlign = "left";
  ctx.fillText(`step ${Math.round(x0).toLocaleString("en")}`, 4, H - 2);
  ctx.strokeStyle = "#eee";
  ctx.beginPath();
  ctx.moveTo(0, H - BOTTOM + 0.5);
  ctx.lineTo(W, H - BOTTOM + 0.5);
  ctx.stroke();
}
