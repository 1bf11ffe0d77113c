// nnopt playground: the page. Vanilla JS and canvas in ES modules; the server trains, the
// page draws. This module wires the others and runs the draw loop:
//
//   state.js       page state (declared once) and the URL hash
//   connection.js  the websocket; messages.js handles what the server sends
//   controls.js    user input -> changes.js -> page.state, the URL and the server
//   menus.js       the controls' menus from the server's registries, page.state shown in them
//   draw.js        one frame: chart.js, heatmap.js, network.js, race.js
//   datasets.js, player.js, upload.js, transfer.js, errors.js, colors.js, util.js

import { connect } from "./connection.js";
import { bindControls } from "./controls.js";
import { draw } from "./draw.js";
import { withLandscape } from "./landscape.js";
import { handlers } from "./messages.js";
import { countFrame, renderPlayer } from "./player.js";
import { page } from "./state.js";
import { bindTransfer } from "./transfer.js";

const PLAYER_REFRESH = 500; // ms: the rate line stays current between snapshots

// Draws when something changed since the last frame, at most once per display frame.
function loop() {
  if (page.dirty) {
    page.dirty = false;
    draw();
    countFrame(performance.now());
    window.nnoptFrames = (window.nnoptFrames || 0) + 1; // read by the browser tests
  }
  requestAnimationFrame(loop);
}

bindControls();
bindTransfer();
connect(withLandscape(handlers), renderPlayer);
requestAnimationFrame(loop);
setInterval(renderPlayer, PLAYER_REFRESH);
window.nnopt = page; // the page's state, for the browser tests and the curious
