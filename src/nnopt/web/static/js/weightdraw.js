// The network view's links and bias squares, drawn on a 2D context: shared by the page
// (network.js) and by the worker that draws them off the page's main thread
// (linkworker.js), so both draw the same picture.
//
// links[k][i][j] is w{k+1}[i, j]: a cubic Bezier {a, y1} -> {b, y2} with both control points
// at x = m; biases[k][j] is the square {x, y} of b{k}[j] (biases[0] is null: the inputs).

import { NEGATIVE_WEIGHT, POSITIVE_WEIGHT } from "./colors.js";

export const BIAS = 8; // side of a bias square

// A weight's line: wider and more opaque with its size (width 0.4 + 1.6 |v|, at most 8).
export const linkWidth = (v) => Math.min(8, 0.4 + Math.abs(v) * 1.6);
export const linkAlpha = (v) => Math.min(1, 0.25 + Math.abs(v) * 0.5);

// Clears the context's canvas and draws every link and bias square of `weights`
// ({w1, b1, ...} as nested arrays), in CSS pixels (the context carries the pixel ratio).
export function paintLinks(ctx, links, biases, weights) {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.restore();
  links.forEach((layer, k) => {
    const w = weights[`w${k + 1}`];
    layer.forEach((row, i) => row.forEach((link, j) => {
      const v = w[i][j];
      ctx.beginPath();
      ctx.moveTo(link.a, link.y1);
      ctx.bezierCurveTo(link.m, link.y1, link.m, link.y2, link.b, link.y2);
      ctx.strokeStyle = v >= 0 ? POSITIVE_WEIGHT : NEGATIVE_WEIGHT;
      ctx.globalAlpha = linkAlpha(v);
      ctx.lineWidth = linkWidth(v);
      ctx.stroke();
    }));
  });
  ctx.globalAlpha = 1;
  biases.forEach((layer, k) => {
    const b = layer && weights[`b${k}`];
    if (!b) return;
    layer.forEach((sq, j) => {
      ctx.fillStyle = b[j] >= 0 ? POSITIVE_WEIGHT : NEGATIVE_WEIGHT;
      ctx.globalAlpha = linkAlpha(b[j]);
      ctx.fillRect(sq.x, sq.y, BIAS, BIAS);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = "#999";
      ctx.lineWidth = 1;
      ctx.strokeRect(sq.x + 0.5, sq.y + 0.5, BIAS - 1, BIAS - 1);
    });
  });
}
