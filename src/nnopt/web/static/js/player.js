// The player bar's display: the play/pause button, the step count and the speed line.

import { renderEpoch } from "./epoch.js";
import { page } from "./state.js";
import { $ } from "./util.js";

const RATE_WINDOW = 2000; // ms of frames the updates/s is measured over

export function renderPlayer() {
  $("play").classList.toggle("playing", page.playing);
  $("play").title = page.playing ? "Pause" : "Play";
  const snap = page.snapshot;
  const step = snap ? snap.step : 0;
  $("step-count").textContent = String(step).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("rate").textContent = page.playing ? rateText(snap) : "paused";
  renderEpoch();
}

// Steps/s from the server, frames drawn per second here; until the first chunk after Play
// has run, the server is still compiling the training program.
function rateText(snap) {
  const now = performance.now();
  const recent = page.frameTimes.filter((t) => now - t < RATE_WINDOW);
  const fps = recent.length > 1 ? ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0]) : 0;
  const sps = snap ? snap.rate.steps_per_second : 0;
  const compiling = snap && snap.lanes.some((l) => l.step === (page.playedAt || 0)) && sps === 0;
  if (compiling) return "compiling the training program…";
  return `${Math.round(sps).toLocaleString("en")} steps/s · ${fps.toFixed(0)} updates/s`;
}

// Called by the draw loop after each frame it draws.
export function countFrame(now) {
  page.frameTimes.push(now);
  while (page.frameTimes.length && now - page.frameTimes[0] > RATE_WINDOW) page.frameTimes.shift();
}
