// Draws the network view's links off the page's main thread, on the canvas network.js hands
// over (an OffscreenCanvas). Rasterizing ~1,500 anti-aliased curves takes ~15 ms a frame in
// software at 16 x 6 neurons; here it no longer holds up the page's other drawing.
//
// Messages: {type: "view", id, canvas, ratio, links, biases} for a new view (its canvas
// transferred), {type: "draw", id, weights} for a snapshot's weights; each draw is answered
// with {type: "drawn", id}, so the page sends the next only then (no backlog).

import { paintLinks } from "./weightdraw.js";

let view = null;

self.onmessage = ({ data }) => {
  if (data.type === "view") {
    const ctx = data.canvas.getContext("2d");
    ctx.setTransform(data.ratio, 0, 0, data.ratio, 0, 0);
    view = { id: data.id, ctx, links: data.links, biases: data.biases };
  } else if (data.type === "draw") {
    if (view && view.id === data.id) paintLinks(view.ctx, view.links, view.biases, data.weights);
    self.postMessage({ type: "drawn", id: data.id });
  }
};
