// nnopt playground: the page. Vanilla JS and canvas in ES modules; the server trains, the
// page draws. This module wires the others and runs the draw loop:
//
//   state.js       page state (declared once) and the URL hash
//   connection.js  the websocket; messages.js handles what the server sends
//   controls.js    user input -> changes.js -> page.state, the URL and the server
//   menus.js       the controls' menus from the server's registries, page.state shown in them
//   draw.js        one frame: chart.js, heatmap.js, network.js, race.js
//   datasets.js, player.js, upload.js, transfer.js, errors.js, colors.js, util.js

import { acknowledgeDrawn, connect, send } from "./connection.js";
import { bindControls } from "./controls.js";
import { draw } from "./draw.js";
import { withLandscape } from "./landscape.js";
import { applyLink } from "./links.js";
import { handlers } from "./messages.js";
import { countFrame, renderPlayer } from "./player.js";
import { page } from "./state.js";
import { bindTransfer } from "./transfer.js";

const PLAYER_REFRESH = 500; // ms: the rate line stays current between snapshots

// Draws when something changed since the last frame, at most once per display frame. The
// next frame is asked for first, and a snapshot that fails to draw is logged and skipped:
// no single bad frame may stop the loop for good.
function loop() {
  requestAnimationFrame(loop);
  if (!page.dirty) return;
  page.dirty = false;
  const start = performance.now();
  try {
    draw();
  } catch (error) {
    console.error("nnopt: a frame failed to draw; the next snapshot is drawn anew", error);
  }
  acknowledgeDrawn();
  countFrame(performance.now());
  window.nnoptFrames = (window.nnoptFrames || 0) + 1; // read by the browser tests and bench
  window.nnoptDrawMs = (window.nnoptDrawMs || 0) + performance.now() - start;
}

bindControls();
bindTransfer();
connect(withLandscape(handlers), renderPlayer);
requestAnimationFrame(loop);
// An edited hash in an open tab is a new link (the page's own edits replace the hash
// without this event).
window.addEventListener("hashchange", () => {
  if (!page.hello) return;
  applyLink();
  send({ type: "speed", value: page.state.speed });
  send({ type: "view", weights: page.state.weights });
});
setInterval(renderPlayer, PLAYER_REFRESH);
window.nnopt = page; // the page's state, for the browser tests and the curious
