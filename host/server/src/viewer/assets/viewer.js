// The execution viewer. Everything comes from the API with the token the user signs in
// with (kept in sessionStorage: this tab only). The server draws the graph and reads
// each state's outcome from the history; this script shows them and selects states.
"use strict";

const TOKEN_KEY = "cafe-report-token";
const POLL_MS = 1000;
const PAGE_SIZE = 20;

const $ = (id) => document.getElementById(id);
let pollTimer = null;
let listTokens = [null];

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

class ApiError extends Error {
  constructor(status, name, message) {
    super(message);
    this.status = status;
    this.name = name;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token()}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    signOut("Your token was refused: sign in again.");
    throw new ApiError(401, "Unauthorized", body.message || "sign in again");
  }
  if (!response.ok) {
    throw new ApiError(response.status, body.error || body.__type || "Error", body.message || response.statusText);
  }
  return body;
}

function show(section) {
  for (const id of ["sign-in", "list", "execution"]) $(id).hidden = id !== section;
  $("sign-out").hidden = section === "sign-in";
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopPolling();
  $("sign-in-error").textContent = why || "";
  show("sign-in");
  $("token").focus();
}

function stopPolling() {
  if (pollTimer !== null) clearTimeout(pollTimer);
  pollTimer = null;
}

function navigate(path) {
  history.pushState(null, "", path);
  route();
}

function route() {
  stopPolling();
  if (!token()) {
    signOut();
    return;
  }
  const match = location.pathname.match(/^\/executions\/([^/]+)$/);
  if (match) {
    openExecution(decodeURIComponent(match[1]));
  } else {
    openList();
  }
}

// --- times -------------------------------------------------------------------------

function when(value) {
  if (value === undefined || value === null) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return isNaN(date) ? String(value) : date.toLocaleString();
}

function millis(value) {
  if (value === undefined || value === null) return null;
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return isNaN(date) ? null : date.getTime();
}

function duration(start, stop) {
  const from = millis(start);
  const to = stop ? millis(stop) : Date.now();
  if (from === null || to === null) return "";
  const ms = Math.max(0, to - from);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function badge(status) {
  return element("span", status, `badge ${status}`);
}

function nameOf(arn) {
  return arn.split(":").pop();
}

// --- the list ----------------------------------------------------------------------

async function openList(page = 0) {
  show("list");
  document.title = "Executions · cafe-report";
  $("list-error").textContent = "";
  const params = new URLSearchParams({ maxResults: String(PAGE_SIZE) });
  const status = $("status-filter").value;
  if (status) params.set("status", status);
  if (listTokens[page]) params.set("nextToken", listTokens[page]);
  let body;
  try {
    body = await api(`/executions?${params}`);
  } catch (err) {
    $("list-error").textContent = `${err.name}: ${err.message}`;
    return;
  }
  listTokens = listTokens.slice(0, page + 1);
  if (body.nextToken) listTokens.push(body.nextToken);
  const rows = $("executions").tBodies[0];
  rows.replaceChildren();
  for (const execution of body.executions || []) {
    const row = document.createElement("tr");
    const link = element("a", execution.name);
    link.href = `/executions/${encodeURIComponent(execution.name)}`;
    const cell = element("td");
    cell.append(link);
    const statusCell = element("td");
    statusCell.append(badge(execution.status));
    row.append(cell, statusCell, element("td", when(execution.startDate)),
      element("td", duration(execution.startDate, execution.stopDate)));
    rows.append(row);
  }
  $("list-empty").hidden = rows.children.length > 0;
  $("next-page").hidden = !body.nextToken;
  $("next-page").onclick = () => openList(page + 1);
  $("first-page").hidden = page === 0;
  $("first-page").onclick = () => openList(0);
  if ((body.executions || []).some((e) => e.status === "RUNNING")) {
    pollTimer = setTimeout(() => openList(page), POLL_MS * 2);
  }
}

async function startReport() {
  $("list-error").textContent = "";
  try {
    const started = await api("/create_report", { method: "POST", body: "{}" });
    navigate(`/executions/${encodeURIComponent(nameOf(started.executionArn))}`);
  } catch (err) {
    $("list-error").textContent = `The report did not start: ${err.name}: ${err.message}`;
  }
}

// --- one execution -----------------------------------------------------------------

let current = null;

async function openExecution(name) {
  show("execution");
  document.title = `${name} · cafe-report`;
  $("execution-name").textContent = name;
  $("execution-error").textContent = "";
  $("summary").replaceChildren();
  $("graph").replaceChildren();
  $("events").tBodies[0].replaceChildren();
  $("details").replaceChildren(element("p", "Select a state (click, or Tab to it and press Enter) to see its input, output and errors.", "hint"));
  current = { name, states: {}, events: [], selected: null, drawn: false };
  await refresh(name);
}

async function refresh(name) {
  if (!current || current.name !== name) return;
  let description, graph;
  try {
    [description, graph] = await Promise.all([
      api(`/executions/${encodeURIComponent(name)}`),
      api(`/executions/${encodeURIComponent(name)}/graph`),
    ]);
  } catch (err) {
    $("execution-error").textContent = err.status === 404
      ? `There is no execution ${name} that you may see.`
      : `${err.name}: ${err.message}`;
    return;
  }
  if (!current || current.name !== name) return;
  current.states = graph.states || {};
  current.events = graph.events || [];
  showSummary(description);
  if (!current.drawn) {
    drawGraph(graph.svg);
    current.drawn = true;
  }
  colourGraph();
  showEvents(current.events);
  if (current.selected) showState(current.selected);
  if (description.status === "RUNNING") {
    pollTimer = setTimeout(() => refresh(name), POLL_MS);
  }
}

function showSummary(description) {
  const summary = $("summary");
  summary.replaceChildren();
  const add = (term, value) => {
    if (value === undefined || value === null || value === "") return;
    summary.append(element("dt", term));
    const dd = element("dd");
    if (value instanceof Node) dd.append(value); else dd.textContent = value;
    summary.append(dd);
  };
  add("Status", badge(description.status));
  add("Started", when(description.startDate));
  add("Stopped", when(description.stopDate));
  add("Duration", duration(description.startDate, description.stopDate));
  add("Error", description.error);
  add("Cause", description.cause);
  const link = reportLink(description);
  if (link) add("Report", link);
}

// The delivered report: its presigned link, while it is valid.
function reportLink(description) {
  if (description.status !== "SUCCEEDED" || !description.output) return null;
  let output;
  try { output = JSON.parse(description.output); } catch { return null; }
  const link = output && output.link;
  if (!link || typeof link.url !== "string") return null;
  const expires = millis(link.expires_at);
  if (expires !== null && expires <= Date.now()) {
    return element("span", `the link expired at ${when(link.expires_at)}`, "hint");
  }
  const a = element("a", "Open the report");
  a.href = link.url;
  a.rel = "noreferrer";
  a.id = "report-link";
  const wrap = element("span");
  wrap.append(a, element("span", expires !== null ? ` (valid until ${when(link.expires_at)})` : ""));
  return wrap;
}

function drawGraph(svgText) {
  const parsed = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = document.importNode(parsed.documentElement, true);
  $("graph").replaceChildren(svg);
  for (const node of svg.querySelectorAll("g.state")) {
    const name = node.dataset.state;
    node.addEventListener("click", (event) => {
      event.stopPropagation();
      select(name);
    });
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        event.stopPropagation();
        select(name);
      }
    });
  }
}

const OUTCOMES = ["succeeded", "retried", "caught", "failed", "running", "not-reached"];

function colourGraph() {
  for (const node of $("graph").querySelectorAll("g.state")) {
    const run = current.states[node.dataset.state];
    const outcome = run ? run.outcome : "not-reached";
    for (const o of OUTCOMES) node.classList.toggle(`outcome-${o}`, o === outcome);
    node.setAttribute("data-outcome", outcome);
    node.setAttribute("aria-label", `${node.dataset.state}: ${outcome.replace("-", " ")}`);
  }
  // The path taken: both ends reached, and a Catch edge only from a state it caught.
  for (const edge of $("graph").querySelectorAll("path.edge")) {
    const from = current.states[edge.dataset.from];
    const to = current.states[edge.dataset.to];
    const caught = from && from.outcome === "caught";
    const taken = Boolean(from && to) && edge.classList.contains("edge-catch") === caught;
    edge.classList.toggle("taken", taken);
  }
}

function select(name) {
  current.selected = name;
  for (const node of $("graph").querySelectorAll("g.state")) {
    node.classList.toggle("selected", node.dataset.state === name);
    node.setAttribute("aria-pressed", String(node.dataset.state === name));
  }
  showState(name);
}

function pretty(text) {
  if (text === undefined || text === null) return "";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return String(text); }
}

function showState(name) {
  const run = current.states[name];
  const panel = $("details");
  panel.replaceChildren(element("h3", name));
  if (!run) {
    panel.append(element("p", "Not reached.", "hint"));
    return;
  }
  const list = element("dl");
  list.id = "state-summary";
  const add = (term, value) => {
    if (value === undefined || value === null || value === "") return;
    list.append(element("dt", term), element("dd", String(value)));
  };
  add("Outcome", run.outcome.replace("-", " "));
  add("Entered", when(run.entered));
  add("Left", when(run.exited));
  if (run.entered) add("Took", duration(run.entered, run.exited));
  if (run.entries > 1) add("Entered times", run.entries);
  if (run.attempts > 0) {
    const retries = run.attempts - 1;
    add("Attempts", `${run.attempts} (${retries} ${retries === 1 ? "retry" : "retries"}, ${run.failures} failed)`);
  }
  add("Component", run.component);
  add("Version", run.component_version);
  const version = list.lastElementChild;
  if (run.component_version && version) version.classList.add("version");
  panel.append(list);
  if (run.error || run.cause) {
    const box = element("div", null, "failure");
    box.id = "state-failure";
    box.append(element("h4", `Error: ${run.error || ""}`));
    if (run.cause) box.append(element("pre", pretty(run.cause)));
    panel.append(box);
  }
  panel.append(element("h4", "Input"));
  const input = element("pre", pretty(run.input));
  input.id = "state-input";
  panel.append(input);
  panel.append(element("h4", "Output"));
  const output = element("pre", run.output === null || run.output === undefined ? "(none yet)" : pretty(run.output));
  output.id = "state-output";
  panel.append(output);
}

function eventState(event, byId) {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith("EventDetails") && value && typeof value.name === "string") return value.name;
  }
  let previous = byId.get(event.previousEventId);
  while (previous) {
    for (const [key, value] of Object.entries(previous)) {
      if (key.endsWith("StateEnteredEventDetails") && value && typeof value.name === "string") return value.name;
    }
    previous = byId.get(previous.previousEventId);
  }
  return "";
}

function showEvents(events) {
  const byId = new Map(events.map((e) => [e.id, e]));
  const rows = $("events").tBodies[0];
  rows.replaceChildren();
  for (const event of events) {
    const details = Object.entries(event).find(([key]) => key.endsWith("EventDetails"));
    const text = details ? JSON.stringify(details[1]) : "";
    const row = document.createElement("tr");
    row.append(element("td", event.id), element("td", event.type), element("td", eventState(event, byId)),
      element("td", when(event.timestamp)), element("td", text.length > 400 ? `${text.slice(0, 400)}…` : text));
    rows.append(row);
  }
}

// --- wiring ------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const value = $("token").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $("token").value = "";
  $("sign-in-error").textContent = "";
  try {
    await api("/executions?maxResults=1");
  } catch (err) {
    if (err.status !== 401) $("sign-in-error").textContent = `${err.name}: ${err.message}`;
    return;
  }
  route();
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => {
    signOut();
    history.pushState(null, "", "/");
  });
  $("start-report").addEventListener("click", startReport);
  $("status-filter").addEventListener("change", () => {
    listTokens = [null];
    stopPolling();
    openList(0);
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href^='/']");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(link.getAttribute("href"));
  });
  window.addEventListener("popstate", route);
  route();
});
