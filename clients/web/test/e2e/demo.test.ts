// The demo app (clients/web/demo) as someone opening `make run`'s link would use it: served by
// `avsync-server serve --demo` under its strict CSP, at /demo/ on the sync API's own origin,
// driven through its forms and buttons only. What the server holds afterwards is read from
// GET /sync/changes with the same token, as another device would read it.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { Locator, Page } from "playwright-core";

import { AvsyncServer, Browser, launchBrowser, startServer, webRoot } from "./harness.js";

const demoDir = join(webRoot, "dist", "demo");

before(() => {
  if (!existsSync(join(demoDir, "index.html"))) throw new Error(`${demoDir} holds no build of the demo: run node scripts/build.mjs`);
});

// Each test has a server and a browser profile of its own (its own IndexedDB, storage and
// Service Worker), so what the server holds afterwards is that test's alone.
let server: AvsyncServer;

async function withDemoServer(body: (browser: Browser) => Promise<void>): Promise<void> {
  server = await startServer({ args: ["--demo", "--demo-dir", demoDir] });
  try {
    const browser = await launchBrowser();
    try {
      await body(browser);
    } finally {
      await browser.close();
    }
  } finally {
    await server.stop();
  }
}

/** Opens the demo as `make run`'s link does; collects the page's errors and CSP violations. */
async function openDemo(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  await page.goto(`${server.url}/demo/#token=${server.token}`);
  await page.getByTestId("status-state").waitFor();
  return { page, problems };
}

/** Waits until `locator` shows exactly `text`. */
async function shows(locator: Locator, text: string, timeout = 20000): Promise<void> {
  const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  await locator.filter({ hasText: exact }).waitFor({ timeout });
}

function row(page: Page, list: "customer" | "sale" | "payment", text: string): Locator {
  return page.getByTestId(`${list}-row`).filter({ hasText: text });
}

/**
 * Records, in the page, each text the sync badge of the `list` row holding `text` shows, as
 * React commits it: a state shown for less than the locator's polling interval (a write that
 * syncs within half a second on a quiet machine) is still seen. Returns a reader of the record.
 */
async function recordBadges(page: Page, list: "customer" | "sale" | "payment", text: string): Promise<() => Promise<string[]>> {
  await page.evaluate(
    ({ list, text }) => {
      const shown: string[] = [];
      (window as any).__badges = shown;
      const look = () => {
        for (const row of document.querySelectorAll(`[data-testid="${list}-row"]`)) {
          if (!row.textContent?.includes(text)) continue;
          const badge = row.querySelector('[data-testid="sync-badge"]')?.textContent ?? "";
          if (badge && shown[shown.length - 1] !== badge) shown.push(badge);
        }
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    },
    { list, text },
  );
  return () => page.evaluate(() => [...((window as any).__badges as string[])]);
}

async function addCustomer(page: Page, name: string): Promise<void> {
  const form = page.getByTestId("customer-form");
  await form.getByLabel("Name").fill(name);
  await form.getByTestId("customer-submit").click();
  await row(page, "customer", name).waitFor();
}

async function addSale(page: Page, customer: string, total: string, paymentType: string): Promise<void> {
  const form = page.getByTestId("sale-form");
  await form.getByLabel("Customer", { exact: true }).selectOption({ label: customer });
  await form.getByLabel("Total").fill(total);
  await form.getByLabel("Payment").selectOption(paymentType);
  await form.getByTestId("sale-submit").click();
}

async function addPayment(page: Page, customer: string, amount: string, method: string): Promise<void> {
  const form = page.getByTestId("payment-form");
  await form.getByLabel("Customer", { exact: true }).selectOption({ label: customer });
  await form.getByLabel("Amount").fill(amount);
  await form.getByLabel("Method").selectOption(method);
  await form.getByTestId("payment-submit").click();
}

async function goOffline(page: Page): Promise<void> {
  await shows(page.getByTestId("offline-toggle"), "Go offline");
  await page.getByTestId("offline-toggle").click();
  await page.getByTestId("paused-note").waitFor();
}

async function goOnline(page: Page): Promise<void> {
  await shows(page.getByTestId("offline-toggle"), "Go online");
  await page.getByTestId("offline-toggle").click();
  await page.getByTestId("paused-note").waitFor({ state: "detached" });
}

interface Change {
  entity: string;
  entityId: string;
  action: string;
  data: Record<string, string | null> | null;
}

/** The server's whole feed for the test's token, page after page (docs/protocol.md §4). */
async function serverRows(): Promise<Change[]> {
  const out: Change[] = [];
  let since = "";
  for (;;) {
    const answer = await fetch(`${server.url}/sync/changes?since=${encodeURIComponent(since)}`, {
      headers: { Authorization: `Bearer ${server.token}` },
    });
    assert.equal(answer.status, 200);
    const page = (await answer.json()) as { changes: Change[]; cursor: string; hasMore: boolean };
    out.push(...page.changes);
    if (!page.hasMore) return out;
    since = page.cursor;
  }
}

/** Another device of the business deletes a row (docs/protocol.md §3). */
async function deleteOnServer(entity: string, id: string): Promise<void> {
  const operation = { operationId: crypto.randomUUID(), entity, action: "delete", entityId: id, payload: {}, clientTimestamp: new Date().toISOString() };
  const answer = await fetch(`${server.url}/sync/batch`, {
    method: "POST",
    headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ operations: [operation] }),
  });
  const body = (await answer.json()) as { results: { success: boolean }[] };
  assert.equal(body.results[0]?.success, true, JSON.stringify(body));
}

test("a customer shows pending then synced; offline writes survive a reload and reach the server once when back online", async () => {
  await withDemoServer(async (browser) => {
    const { page, problems } = await openDemo(browser);
    assert.equal(new URL(page.url()).hash, "", "the token is taken out of the address bar");

    const anasBadges = await recordBadges(page, "customer", "Ana Ruiz");
    await addCustomer(page, "Ana Ruiz");
    const ana = row(page, "customer", "Ana Ruiz");
    await shows(ana.getByTestId("sync-badge"), "synced");
    assert.deepEqual(await anasBadges(), ["pending", "synced"]);
    await shows(page.getByTestId("pending-count"), "0");
    await shows(page.getByTestId("status-state"), "idle");

    await goOffline(page);
    await addSale(page, "Ana Ruiz", "150.5", "credit");
    await addPayment(page, "Ana Ruiz", "20", "transfer");
    await shows(row(page, "sale", "150.50").getByTestId("sync-badge"), "pending");
    await shows(row(page, "payment", "20.00").getByTestId("sync-badge"), "pending");
    await shows(page.getByTestId("pending-count"), "2");

    await page.reload();
    await page.getByTestId("status-state").waitFor();
    await page.getByTestId("paused-note").waitFor(); // the toggle holds across a reload of the tab
    await shows(page.getByTestId("pending-count"), "2");
    await shows(row(page, "sale", "150.50").getByTestId("sync-badge"), "pending");
    await shows(row(page, "payment", "20.00").getByTestId("sync-badge"), "pending");
    assert.equal(await page.getByTestId("token-form").count(), 0, "the token was kept");

    await goOnline(page);
    await shows(row(page, "sale", "150.50").getByTestId("sync-badge"), "synced");
    await shows(row(page, "payment", "20.00").getByTestId("sync-badge"), "synced");
    await shows(page.getByTestId("pending-count"), "0");
    await shows(page.getByTestId("failed-count"), "0");

    const ids = {
      customer: await ana.getAttribute("data-id"),
      sale: await row(page, "sale", "150.50").getAttribute("data-id"),
      payment: await row(page, "payment", "20.00").getAttribute("data-id"),
    };
    const changes = await serverRows();
    const customers = changes.filter((c) => c.entity === "customers" && c.data?.["name"] === "Ana Ruiz");
    const sales = changes.filter((c) => c.entity === "sales" && c.data?.["customer_id"] === ids.customer);
    const payments = changes.filter((c) => c.entity === "abonos" && c.data?.["customer_id"] === ids.customer);
    assert.deepEqual(customers.map((c) => c.entityId), [ids.customer]);
    assert.deepEqual(sales.map((c) => [c.entityId, c.data?.["total"], c.data?.["payment_type"]]), [[ids.sale, "150.50", "credit"]]);
    assert.deepEqual(payments.map((c) => [c.entityId, c.data?.["amount"], c.data?.["method"]]), [[ids.payment, "20.00", "transfer"]]);

    const worker = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.scope ?? null);
    assert.equal(worker, `${server.url}/demo/`, "the Service Worker is registered for /demo/");
    assert.deepEqual(problems, []);
  });
});

test("an insert the client refuses shows its code and message beside the form and queues nothing", async () => {
  await withDemoServer(async (browser) => {
    const { page, problems } = await openDemo(browser);
    await page.getByTestId("customer-submit").click();
    await page.getByTestId("customer-error").waitFor();
    assert.match(await page.getByTestId("customer-error").innerText(), /^VALIDATION_ERROR customers\.name: /);
    await addCustomer(page, "Carla");
    await page.getByTestId("sale-form").getByLabel("Total").fill("1.234");
    await page.getByTestId("sale-submit").click();
    const error = page.getByTestId("sale-error");
    await error.waitFor();
    assert.match(await error.innerText(), /^VALIDATION_ERROR sales\.total: /);
    await shows(page.getByTestId("pending-count"), "0");
    assert.equal(await page.getByTestId("sale-row").count(), 0);
    assert.deepEqual(problems, []);
  });
});

test("a payment the server refuses is listed with its code; Retry sends it again and Discard drops it", async () => {
  await withDemoServer(async (browser) => {
    const { page, problems } = await openDemo(browser);
    await addCustomer(page, "Bea Gómez");
    const bea = row(page, "customer", "Bea Gómez");
    await shows(bea.getByTestId("sync-badge"), "synced");
    const beaId = (await bea.getAttribute("data-id"))!;

    // While this tab is offline, another device deletes Bea: her payment names a deleted row.
    await goOffline(page);
    await deleteOnServer("customers", beaId);
    await addPayment(page, "Bea Gómez", "35", "cash");
    await goOnline(page);

    const failed = page.getByTestId("failed-op");
    await failed.waitFor();
    await shows(page.getByTestId("failed-count"), "1");
    // The server never had it, so the replica shows no row for it: it lives in the failed list.
    await row(page, "payment", "35.00").waitFor({ state: "detached" });
    assert.match(await failed.getByTestId("failed-op-error").innerText(), /^VALIDATION_ERROR abonos\.customer_id: /);
    await shows(failed.getByTestId("failed-op-attempts"), "1 attempt");

    await failed.getByTestId("failed-op-retry").click();
    await shows(failed.getByTestId("failed-op-attempts"), "2 attempts");
    await shows(page.getByTestId("failed-count"), "1");

    await failed.getByTestId("failed-op-discard").click();
    await failed.waitFor({ state: "detached" });
    await shows(page.getByTestId("failed-count"), "0");
    await bea.waitFor({ state: "detached" }); // the pull brought the other device's delete
    const changes = await serverRows();
    assert.equal(changes.filter((c) => c.entity === "abonos" && c.data?.["customer_id"] === beaId).length, 0);
    assert.deepEqual(problems, []);
  });
});

test(
  "a row the Service Worker synced shows as synced in the open page",
  async () => {
    await withDemoServer(async (browser) => {
      const { page } = await openDemo(browser);
      await page.evaluate(async () => void (await navigator.serviceWorker.ready));
      await page.reload(); // from now on the worker controls the page, and a write asks it to sync
      await page.getByTestId("status-state").waitFor();
      assert.equal(await page.evaluate(() => navigator.serviceWorker.controller !== null), true);
      await addCustomer(page, "Dora");
      await shows(page.getByTestId("pending-count"), "0");
      await shows(row(page, "customer", "Dora").getByTestId("sync-badge"), "synced", 10000);
    });
  },
);
