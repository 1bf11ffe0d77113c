// What each message from the server does to page.state and the view. connection.js
// dispatches to these by the message's type.

import { commit } from "./changes.js";
import { send } from "./connection.js";
import { drawUploadTile, renderDatasets } from "./datasets.js";
import { showError } from "./errors.js";
import { applyLink, linkAccepted, linkRefused } from "./links.js";
import { buildMenus, renderControls } from "./menus.js";
import { buildNetwork } from "./network.js";
import { renderPlayer } from "./player.js";
import { renderLanes } from "./race.js";
import { page, SERIES_MAX, updateUrl } from "./state.js";
import { closeImport, showExport, showImportError } from "./transfer.js";
import { clone } from "./util.js";

const shownLaneErrors = new Set(); // a lane's error goes to the error bar once
let viewDue = false; // the weights shown are sent once a setup is accepted

export const handlers = {
  // {session, choices, limits, defaults, chunk, previews}: the first message, again after a
  // reconnect (then the page keeps its state and sends it to the new session)
  hello(m) {
    const first = !page.hello;
    page.hello = m;
    page.session = m.session;
    if (first) {
      buildMenus();
      applyLink();
    } else commit(true);
    send({ type: "speed", value: page.state.speed });
    viewDue = true; // a view needs a setup to view: sent after the first ready
  },

  // {reset, setup, lanes, chunk, data?}: the setup the server now trains
  ready(m) {
    linkAccepted();
    if (viewDue) send({ type: "view", weights: page.state.weights });
    viewDue = false;
    page.accepted = clone(m.setup);
    page.lanesInfo = m.lanes;
    if (m.data) page.data = m.data;
    if (m.data && m.setup.data.name === "upload") drawUploadTile(m.data);
    if (m.reset) {
      page.series = m.lanes.map(() => []);
      page.playedAt = page.playing ? 0 : null;
    }
    while (page.series.length < m.lanes.length) page.series.push([]);
    page.series.length = m.lanes.length;
    page.state.selected = m.setup.selected;
    buildNetwork();
    renderControls();
    renderLanes();
    renderDatasets();
  },

  // {playing, step, rate, lanes, network}: what to draw now
  snapshot(m) {
    page.snapshot = m;
    page.playing = m.playing;
    m.lanes.forEach((l, i) => record(i, l.metrics));
    m.lanes.forEach((l, i) => {
      if (!l.error || shownLaneErrors.has(i + l.error)) return;
      shownLaneErrors.add(i + l.error);
      showError((m.lanes.length > 1 ? `lane ${i + 1}: ` : "") + l.error);
    });
    page.dirty = true;
    renderPlayer();
  },

  status(m) {
    page.playing = m.playing;
    renderPlayer();
  },

  // {about, message}: a refused setup puts the controls back to what the server runs,
  // so they never lie
  error(m) {
    const link = m.about === "setup" ? linkRefused(m.message) : null;
    if (link && link.reset) return;
    if (!link) showError(m.message);
    if (m.about === "setup" && page.accepted) {
      page.state.data = clone(page.accepted.data);
      page.state.lanes = clone(page.accepted.lanes);
      page.state.selected = page.accepted.selected;
      updateUrl();
      renderControls();
      buildNetwork();
      renderLanes();
    }
    if (m.about === "import") showImportError(m.message);
  },

  export: showExport,

  // {settings: {data, lane}}: an imported config replaces the data and the selected lane
  imported(m) {
    page.state.data = m.settings.data;
    page.state.lanes[page.state.selected] = m.settings.lane;
    closeImport();
    commit(true);
  },
};

// Appends a lane's metrics to its series; a lane that started over starts a new series,
// and a long one keeps every other point (the charts need no more).
function record(i, metrics) {
  const s = page.series[i];
  if (!s || !metrics || metrics.step === undefined) return;
  const last = s.length ? s[s.length - 1].step : -1;
  if (metrics.step < last) s.length = 0;
  else if (metrics.step === last) return;
  s.push({ step: metrics.step, m: metrics });
  if (s.length > SERIES_MAX) page.series[i] = s.filter((_, k) => k % 2 === 0 || k === s.length - 1);
}
