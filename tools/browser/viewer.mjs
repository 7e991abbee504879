// The viewer as a person uses it, in Debian's Chromium driven by playwright-core (no
// browser is downloaded). Run by host/cli/tests/serve/viewer.rs against the real binary:
//
//   node tools/browser/viewer.mjs succeeded|failed
//
// with BASE (the API's URL), TOKEN (a user's), OTHER_TOKEN (another user's) and SHOTS
// (where screenshots go). Fails (exit 1) at the first check that does not hold; prints
// one JSON line of what it saw otherwise.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const { BASE, TOKEN, OTHER_TOKEN, SHOTS } = process.env;
const scenario = process.argv[2];
const WAIT = 60_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const problems = [];
const seen = {};

// `refusals`: the page is expected to be refused (a wrong token, another user's
// execution), which Chromium logs as
// a failed load; any other console error still counts.
async function newPage(refusals = false) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on("console", (message) => {
    const refused = refusals && /status of (401|404)/.test(message.text());
    if (message.type() === "error" && !refused) problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  // Nothing leaves the machine: every request goes to the server under test.
  page.on("request", (request) => {
    if (!request.url().startsWith(BASE) && !request.url().startsWith("data:")) {
      problems.push(`request elsewhere: ${request.url()}`);
    }
  });
  return page;
}

async function signIn(page, token) {
  await page.goto(`${BASE}/`);
  await page.locator("#token").fill(token);
  await page.keyboard.press("Enter");
  await page.locator("#list").waitFor({ state: "visible" });
}

async function outcome(page, state) {
  return page.locator(`#graph g.state[data-state="${state}"]`).getAttribute("data-outcome");
}

async function waitForStatus(page, status) {
  await page.locator(`#summary .badge.${status}`).waitFor({ timeout: WAIT });
}

try {
  // A wrong token is refused on the sign-in form.
  const refused = await newPage(true);
  await refused.goto(`${BASE}/`);
  await refused.locator("#token").fill("not-a-token");
  await refused.locator("#sign-in-form button").click();
  await refused.locator("#sign-in-error").filter({ hasText: "refused" }).waitFor();

  const page = await newPage();
  await signIn(page, TOKEN);
  // Keyboard: Tab reaches the start button; Enter starts a report and opens it.
  const start = page.locator("#start-report");
  for (let i = 0; i < 10 && !(await start.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  assert.ok(await start.evaluate((el) => el === document.activeElement), "Tab reaches Start a report");
  const outline = await start.evaluate((el) => getComputedStyle(el).outlineStyle);
  assert.notEqual(outline, "none", "the focused button shows its focus");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/executions\/[^/]+$/);
  const name = decodeURIComponent(page.url().split("/").pop());
  seen.name = name;

  if (scenario === "succeeded") {
    // While it runs, the page updates itself until the end.
    await waitForStatus(page, "SUCCEEDED");
    for (const state of ["Defaults", "Query", "Deliver", "Render", "Presign", "Summarize"]) {
      assert.equal(await outcome(page, state), "succeeded", state);
    }
    assert.equal(await outcome(page, "ExplainFailure"), "not-reached");
    // Render, selected by click: its input (the inventory) and output (the stored key).
    await page.locator('#graph g.state[data-state="Render"]').click();
    const input = JSON.parse(await page.locator("#state-input").textContent());
    assert.ok(input.inventory && input.inventory.suppliers.length > 0, "Render's input is the inventory");
    const output = JSON.parse(await page.locator("#state-output").textContent());
    assert.match(output.key, /^reports\/.+\.html$/, "Render's output names the report");
    assert.match(await page.locator("#state-summary").textContent(), /Component\s*render/);
    // From the keyboard: Tab from the heading reaches the graph's first state, which
    // shows its focus; Tab moves on, Enter selects.
    await page.locator("#execution-name").click();
    const focusedState = () => page.evaluate(() => document.activeElement.dataset?.state ?? null);
    for (let i = 0; i < 20 && (await focusedState()) === null; i++) await page.keyboard.press("Tab");
    assert.equal(await focusedState(), "Defaults", "Tab reaches the graph");
    const ring = await page.evaluate(() =>
      getComputedStyle(document.activeElement.querySelector("rect")).strokeWidth);
    assert.equal(ring, "4px", "the focused state shows its focus");
    await page.keyboard.press("Tab");
    assert.equal(await focusedState(), "ApplyDefaults");
    await page.keyboard.press("Enter");
    await page.locator("#details h3", { hasText: "ApplyDefaults" }).waitFor();
    const apply = page.locator('#graph g.state[data-state="ApplyDefaults"]');
    assert.equal(await apply.getAttribute("aria-pressed"), "true");
    // The report itself, through its presigned link.
    const link = await page.locator("#report-link").getAttribute("href");
    const report = await (await fetch(link)).text();
    assert.match(report, /<table/, "the link opens the report");
    const events = await page.locator("#events tbody tr").count();
    assert.ok(events > 10, `the event table lists the history (${events} rows)`);
    seen.events = events;
    await page.screenshot({ path: `${SHOTS}/execution.png`, fullPage: false });

    // The list: newest first, with this execution; the status filter narrows it.
    await page.locator('a[href="/"]').first().click();
    await page.locator("#executions tbody tr").first().waitFor();
    assert.equal(await page.locator("#executions tbody tr td a").first().textContent(), name);
    // From the keyboard: Tab reaches the execution's link, focus shows, Enter opens it.
    await page.locator("#list h1").click();
    const focusedLink = () => page.evaluate(() =>
      document.activeElement.closest("#executions") ? document.activeElement.textContent : null);
    for (let i = 0; i < 10 && (await focusedLink()) === null; i++) await page.keyboard.press("Tab");
    assert.equal(await focusedLink(), name, "Tab reaches the list's rows");
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), "none");
    await page.keyboard.press("Enter");
    await page.waitForURL(new RegExp(`/executions/${name}$`));
    await page.locator("#summary .badge.SUCCEEDED").waitFor();
    await page.goBack();
    await page.locator("#executions tbody tr").first().waitFor();
    await page.locator("#status-filter").selectOption("FAILED");
    await page.locator("#executions tbody tr").first().waitFor({ state: "detached" });
    assert.equal(await page.locator("#executions tbody tr").count(), 0, "no failed executions");
    await page.locator("#status-filter").selectOption("");
    await page.locator("#executions tbody tr").first().waitFor();
    await page.screenshot({ path: `${SHOTS}/list.png` });

    // Another user: the execution is not in their list, and its address shows nothing.
    const other = await newPage(true);
    await signIn(other, OTHER_TOKEN);
    await other.locator("#list-empty").waitFor({ state: "visible" });
    await other.goto(`${BASE}/executions/${encodeURIComponent(name)}`);
    await other.locator("#execution-error").filter({ hasText: "no execution" }).waitFor();
    assert.equal(await other.locator("#graph g.state").count(), 0);
  } else if (scenario === "failed") {
    await waitForStatus(page, "FAILED");
    // The failed task, its retries, and the Catch path it took.
    assert.equal(await outcome(page, "Query"), "caught");
    for (const state of ["ExplainFailure", "ComposeFailure", "Addressed", "NotifyRequester"]) {
      assert.equal(await outcome(page, state), "succeeded", state);
    }
    assert.equal(await outcome(page, "Deliver"), "not-reached");
    assert.equal(await outcome(page, "ReportFailed"), "failed", "the execution failed in its Fail state");
    const catchEdge = page.locator('#graph path.edge-catch[data-from="Query"]');
    assert.equal(await catchEdge.count(), 1, "the Catch edge is drawn");
    assert.match(await catchEdge.getAttribute("class"), /\btaken\b/, "and coloured as the path taken");
    const next = page.locator('#graph path.edge-next[data-from="Query"]');
    assert.doesNotMatch(await next.getAttribute("class"), /\btaken\b/, "Next was not taken");
    await page.locator('#graph g.state[data-state="Query"]').click();
    const failure = await page.locator("#state-failure").textContent();
    assert.match(failure, /Sql\.Unavailable/);
    const summary = await page.locator("#state-summary").textContent();
    assert.match(summary, /Attempts\s*3 \(2 retries, 3 failed\)/, summary);
    assert.match(await page.locator("#summary").textContent(), /Error/);
    seen.cause = (await page.locator("#state-failure pre").textContent()).slice(0, 200);
    await page.screenshot({ path: `${SHOTS}/failed.png` });
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  assert.deepEqual(problems, [], "no console errors, no request elsewhere");
  console.log(JSON.stringify({ ok: true, scenario, ...seen }));
} finally {
  await browser.close();
}
