// What each control does: the hyper bar's inputs, the player buttons, the data column, the
// layer and neuron buttons, the race builder and the lane cards. Each edits page.state
// through changes.js (or sends a command); the server's answers come back in messages.js.

import { commit, editLayers, selectLane, setData, setWeights } from "./changes.js";
import { send } from "./connection.js";
import { hideError, showError } from "./errors.js";
import { bindFeatures } from "./features.js";
import { bindLang } from "./i18n.js";
import { bindLecture } from "./lecture.js";
import { buildNetwork } from "./network.js";
import { raceLanes } from "./race.js";
import { choices, page, selectedLane, updateUrl } from "./state.js";
import { uploadFile } from "./upload.js";
import { $, clone, parseLike } from "./util.js";

const NEW_LAYER_NEURONS = 4; // a first hidden layer's size; later ones copy the last

export function bindControls() {
  bindHyperBar();
  bindPlayer();
  bindDataColumn();
  bindNetwork();
  bindRace();
  bindFeatures();
  bindLecture();
  bindLang();
  $("discrete").addEventListener("change", () => {
    page.state.discrete = $("discrete").checked;
    updateUrl();
    page.dirty = true;
  });
  $("error-close").addEventListener("click", hideError);
  $("weights-raw").addEventListener("click", () => setWeights("raw"));
  $("weights-ema").addEventListener("click", () => setWeights("ema"));
  $("weights-both").addEventListener("click", () => setWeights("both"));
  $("show-test").addEventListener("change", () => {
    page.state.showTest = $("show-test").checked;
    updateUrl();
    page.dirty = true;
  });
  window.addEventListener("resize", () => { buildNetwork(); page.dirty = true; });
}

// Every [data-key] control of the hyper bar edits that setting of the selected lane,
// including the loss number inputs menus.js builds later (hence one listener on the bar).
function bindHyperBar() {
  document.querySelector(".hyper-bar").addEventListener("change", (event) => {
    const el = event.target;
    const key = el.dataset.key;
    if (!key) return;
    selectedLane()[key] = laneValue(key, el);
    commit();
  });
}

function laneValue(key, el) {
  if (el.type === "checkbox") return el.checked;
  const example = page.hello.defaults.lane[key];
  return typeof example === "number" ? parseLike(el.value, example) : el.value;
}

function bindPlayer() {
  const ready = () => {
    if (page.accepted) return true;
    showError("nothing to train yet: correct the setting named above first");
    return false;
  };
  $("play").addEventListener("click", () => {
    if (!ready()) return;
    if (page.playing) send({ type: "pause" });
    else { page.playedAt = page.snapshot ? page.snapshot.step : 0; send({ type: "play" }); }
  });
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("step").addEventListener("click", () => { if (ready()) send({ type: "step", chunks: 1 }); });
  $("speed").addEventListener("change", () => {
    page.state.speed = $("speed").value;
    updateUrl();
    send({ type: "speed", value: page.state.speed });
  });
}

function bindDataColumn() {
  $("datasets").addEventListener("click", (event) => {
    const tile = event.target.closest(".dataset");
    if (!tile) return;
    if (tile.dataset.name === "upload") $("upload-file").click();
    else setData("name", tile.dataset.name);
  });
  $("upload-file").addEventListener("change", () => {
    const file = $("upload-file").files[0];
    $("upload-file").value = ""; // the same file again is a new upload
    if (file) uploadFile(file);
  });
  // the sliders show their value while dragged and send it when let go
  $("test_fraction").addEventListener("input", () => {
    $("test_fraction-value").textContent = `${$("test_fraction").value}%`;
  });
  $("test_fraction").addEventListener("change", () => setData("test_fraction", Number($("test_fraction").value) / 100));
  $("noise").addEventListener("input", () => { $("noise-value").textContent = `${$("noise").value}`; });
  $("noise").addEventListener("change", () => setData("noise", Number($("noise").value) / 100));
  $("n_samples").addEventListener("change", () => setData("n_samples", parseLike($("n_samples").value, 0)));
  $("data_seed").addEventListener("change", () => setData("seed", parseLike($("data_seed").value, 0)));
  $("regenerate").addEventListener("click", () => setData("seed", (Number(page.state.data.seed) || 0) + 1));
}

function bindNetwork() {
  const limits = () => page.hello.limits;
  $("add-layer").addEventListener("click", () => editLayers((h) => {
    if (h.length < limits().hidden_layers) h.push(h.length ? h[h.length - 1] : NEW_LAYER_NEURONS);
  }));
  $("remove-layer").addEventListener("click", () => editLayers((h) => { h.pop(); }));
  // the neuron +/- buttons of network.js's layer heads
  $("network").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-neurons]");
    if (!button) return;
    const k = Number(button.dataset.layer);
    const add = Number(button.dataset.neurons) > 0;
    editLayers((h) => {
      if (add && h[k] < limits().neurons) h[k] += 1;
      if (!add && h[k] > 1) h[k] -= 1;
    });
  });
}

function bindRace() {
  $("vary-field").addEventListener("change", () => { $("vary-values").value = choices().race[$("vary-field").value].values; });
  $("build-race").addEventListener("click", () => {
    const { lanes, problem } = raceLanes($("vary-field").value, $("vary-values").value);
    if (problem) return showError(problem);
    setLanes(lanes, 0);
  });
  $("add-lane").addEventListener("click", () => {
    const limit = page.hello.limits.lanes;
    if (page.state.lanes.length >= limit) return showError(`a race has at most ${limit} lanes`);
    setLanes([...page.state.lanes, clone(selectedLane())], page.state.lanes.length);
  });
  $("single").addEventListener("click", () => setLanes([clone(selectedLane())], 0));
  $("lanes").addEventListener("click", (event) => {
    const card = event.target.closest(".lane");
    if (!card) return;
    const index = Number(card.dataset.index);
    if (!event.target.closest(".remove")) return selectLane(index);
    const lanes = page.state.lanes.filter((_, i) => i !== index);
    setLanes(lanes, Math.min(page.state.selected, lanes.length - 1));
  });
}

function setLanes(lanes, selected) {
  page.state.lanes = lanes;
  page.state.selected = selected;
  commit(true);
}
