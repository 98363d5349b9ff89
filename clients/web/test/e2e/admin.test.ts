// The operations console (src/server/admin_ui, served at /admin/ with --admin-token-file) in
// headless Chromium, as an operator uses it: sign in with the admin credential, read every
// page, and settle a real conflict (two devices of one business, the later write refused)
// with "Apply client"; what the server holds afterwards is read from GET /sync/changes as
// a device reads it. A customer named like an HTML element must show as text everywhere,
// with no element made from it and no script run. Each page's screenshot is saved under
// $AVSYNC_SCREENSHOT_DIR (ctest sets admin-screenshots/ of the build directory).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Page } from "playwright-core";

import { AvsyncServer, launchBrowser, startServer, tempDir } from "./harness.js";

const credential = "adm_e2e_Qw8Rt2Lx5Vn9Kc3Bd7Fg1Js4Yp6Hm0Zt";
const hostile = "<img src=x onerror=alert(1)>";
const screenshots = process.env.AVSYNC_SCREENSHOT_DIR || tempDir("admin-screenshots");

interface Operation {
  operationId: string;
  entity: string;
  action: string;
  entityId: string;
  payload: Record<string, unknown>;
  clientTimestamp: string;
}

/** POST /sync/batch as a device; returns each operation's result. */
async function push(server: AvsyncServer, token: string, operations: Operation[]): Promise<{ success: boolean; error?: string }[]> {
  const answer = await fetch(`${server.url}/sync/batch`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ operations }),
  });
  assert.equal(answer.status, 200);
  return ((await answer.json()) as { results: { success: boolean; error?: string }[] }).results;
}

function op(action: string, entityId: string, payload: Record<string, unknown>, secondsAgo: number): Operation {
  return {
    operationId: crypto.randomUUID(),
    entity: "customers",
    action,
    entityId,
    payload,
    clientTimestamp: new Date(Date.now() - secondsAgo * 1000).toISOString(),
  };
}

/**
 * Device A inserts a customer and renames it; device B, whose rename was made before A's,
 * is refused with CONFLICT. Returns the refused operation's id.
 */
async function makeConflict(server: AvsyncServer, deviceA: string, deviceB: string, entityId: string, names: [string, string, string]): Promise<string> {
  const [first, serverName, clientName] = names;
  const applied = await push(server, deviceA, [op("insert", entityId, { name: first, phone: "+57 300 000 0000" }, 120), op("update", entityId, { name: serverName }, 60)]);
  assert.deepEqual(applied.map((r) => r.success), [true, true]);
  const late = op("update", entityId, { name: clientName, notes: "changed offline" }, 90);
  const refused = await push(server, deviceB, [late]);
  assert.equal(refused[0]?.error, "CONFLICT");
  return late.operationId;
}

/** The server's current row of a customer, as a device's pull shows it. */
async function serverCustomer(server: AvsyncServer, id: string): Promise<Record<string, unknown> | undefined> {
  let since = "";
  let found: Record<string, unknown> | undefined;
  for (;;) {
    const answer = await fetch(`${server.url}/sync/changes?since=${encodeURIComponent(since)}`, { headers: { Authorization: `Bearer ${server.token}` } });
    assert.equal(answer.status, 200);
    const page = (await answer.json()) as { changes: { entity: string; entityId: string; data: Record<string, unknown> }[]; cursor: string; hasMore: boolean };
    for (const c of page.changes) if (c.entity === "customers" && c.entityId === id) found = c.data;
    if (!page.hasMore) return found;
    since = page.cursor;
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Nothing the page shows may have become markup: no <img> anywhere in the document. */
async function noImages(page: Page): Promise<void> {
  assert.equal(await page.locator("img").count(), 0, "a value became an element");
}

test("the console signs in with the admin credential, shows every page and resolves a conflict with Apply client", async () => {
  mkdirSync(screenshots, { recursive: true });
  const credentialFile = join(tempDir("admin"), "admin-token");
  writeFileSync(credentialFile, `${credential}\n`);
  const server = await startServer({ args: ["--admin-token-file", credentialFile] });
  const browser = await launchBrowser();
  try {
    const deviceB = server.createToken("device-b");
    const hostileRow = crypto.randomUUID();
    const plainRow = crypto.randomUUID();
    const hostileConflict = await makeConflict(server, server.token, deviceB, hostileRow, ["Ana", "Ana Ruiz", hostile]);
    const plainConflict = await makeConflict(server, server.token, deviceB, plainRow, ["Luis", "Luis Gómez", "Luis G."]);

    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 820 });
    const problems: string[] = [];
    const dialogs: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });

    // Sign-in: a wrong credential is refused and nothing is kept.
    await page.goto(`${server.url}/admin`);
    assert.equal(new URL(page.url()).pathname, "/admin/", "/admin redirects to /admin/");
    const form = page.getByTestId("sign-in-form");
    await form.waitFor();
    await shot(page, "sign-in");
    await page.getByTestId("credential").fill("adm_wrong_credential_of_32_characters__");
    await page.getByTestId("sign-in-submit").click();
    await page.getByTestId("sign-in-message").filter({ hasText: "refused" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.getByTestId("credential").fill(server.token);
    await page.getByTestId("sign-in-submit").click();
    await page.getByTestId("sign-in-message").filter({ hasText: "refused" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a device token is not the admin credential");

    await page.getByTestId("credential").fill(credential);
    await page.getByTestId("sign-in-submit").click();
    await page.getByTestId("overview-status").waitFor();
    assert.equal(await page.evaluate(() => Object.values({ ...sessionStorage }).includes("adm_e2e_Qw8Rt2Lx5Vn9Kc3Bd7Fg1Js4Yp6Hm0Zt")), true);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "never in localStorage");
    assert.deepEqual(await browser.context.cookies(), [], "never a cookie");

    // Businesses.
    await page.locator('nav a[data-page="businesses"]').click();
    const businesses = page.getByTestId("businesses-table");
    await businesses.getByText(server.businessId, { exact: true }).waitFor();
    await businesses.getByText("web-e2e", { exact: true }).waitFor();
    await shot(page, "businesses");

    // Operations: every filter, the hostile name as text, and the next page.
    await page.locator('nav a[data-page="operations"]').click();
    await page.getByTestId("operations-table").waitFor();
    await page.getByTestId("filter-businessId").fill(server.businessId);
    await page.getByTestId("filter-status").selectOption("failed");
    await page.getByTestId("filter-entity").selectOption("customers");
    await page.getByTestId("filter-errorCode").selectOption("CONFLICT");
    await page.getByTestId("filter-limit").fill("1");
    await page.getByTestId("operations-search").click();
    await page.getByTestId("operations-page").filter({ hasText: "Page 1" }).waitFor();
    const firstPage = page.getByTestId("operations-table").locator("tbody tr");
    await firstPage.filter({ hasText: "Luis G." }).waitFor();
    assert.equal(await firstPage.count(), 1);
    await page.getByTestId("operations-next").click();
    await page.getByTestId("operations-page").filter({ hasText: "Page 2" }).waitFor();
    await page.getByTestId("operations-table").locator("tbody tr").filter({ hasText: hostile }).waitFor();
    await noImages(page);
    await page.getByTestId("filter-limit").fill("100");
    await page.getByTestId("filter-status").selectOption("");
    await page.getByTestId("filter-errorCode").selectOption("");
    await page.getByTestId("filter-operationId").fill(hostileConflict);
    await page.getByTestId("operations-search").click();
    await page.getByTestId("operations-page").filter({ hasText: "Page 1" }).waitFor();
    await page.getByTestId("operations-table").locator("tbody tr").filter({ hasText: hostileConflict }).waitFor();
    assert.equal(await page.getByTestId("operations-table").locator("tbody tr").count(), 1);
    await page.getByTestId("filter-operationId").fill("");
    await page.getByTestId("filter-from").fill("2099-01-01T00:00");
    await page.getByTestId("operations-search").click();
    await page.getByTestId("operations-table-empty").waitFor();
    await page.getByTestId("filter-from").fill("2000-01-01T00:00");
    await page.getByTestId("filter-to").fill("2099-01-01T00:00");
    await page.getByTestId("operations-search").click();
    await page.getByTestId("operations-table").locator("tbody tr").nth(5).waitFor();
    await shot(page, "operations");

    // Conflicts: the diff, then Apply client.
    await page.locator('nav a[data-page="conflicts"]').click();
    const conflicts = page.getByTestId("conflicts-table");
    const hostileEntry = conflicts.locator(`tr[data-operation-id="${hostileConflict}"]`);
    await hostileEntry.waitFor();
    await conflicts.locator(`tr[data-operation-id="${plainConflict}"]`).waitFor();
    await hostileEntry.getByTestId("conflict-open").click();
    const diff = page.getByTestId("conflict-diff");
    await diff.waitFor();
    const nameRow = diff.locator('tr[data-field="name"]');
    assert.equal(await nameRow.getAttribute("class"), "differs");
    assert.equal(await nameRow.locator("td.client").textContent(), hostile);
    assert.equal(await nameRow.locator("td.server").textContent(), "Ana Ruiz");
    assert.equal(await diff.locator('tr[data-field="notes"]').getAttribute("class"), "differs");
    assert.equal(await diff.locator('tr[data-field="phone"]').getAttribute("class"), null, "a field the device did not send does not differ");
    assert.equal(await diff.locator('tr[data-field="phone"] td.server').textContent(), "+57 300 000 0000");
    await noImages(page);
    await shot(page, "conflicts");

    await page.getByTestId("resolve-by").fill("e2e operator");
    await page.getByTestId("apply-client").click();
    await page.getByTestId("resolve-result").waitFor();
    await hostileEntry.waitFor({ state: "detached" });
    await conflicts.locator(`tr[data-operation-id="${plainConflict}"]`).waitFor();
    assert.equal(await page.getByTestId("conflict-detail").isHidden(), true);
    const row = await serverCustomer(server, hostileRow);
    assert.equal(row?.name, hostile, "the client's value is the server's row now");
    assert.equal(row?.notes, "changed offline");
    assert.equal((await serverCustomer(server, plainRow))?.name, "Luis Gómez", "the other conflict changed nothing");

    // Audit.
    await page.locator('nav a[data-page="audit"]').click();
    const audit = page.getByTestId("audit-table");
    const record = audit.locator("tbody tr").filter({ hasText: hostileConflict });
    await record.waitFor();
    await record.filter({ hasText: "apply_client" }).filter({ hasText: "e2e operator" }).waitFor();
    await shot(page, "audit");

    // Overview: the server samples every 10 s, so the charts come within one interval.
    await page.locator('nav a[data-page="overview"]').click();
    await page.getByTestId("chart-requestsPerSecond").waitFor({ timeout: 30000 });
    for (const key of ["operationsPerSecond", "errorRate", "p99Ms"]) await page.getByTestId(`chart-${key}`).waitFor();
    await shot(page, "overview");

    // A credential the server no longer takes returns to sign-in; sign-out forgets it.
    await page.evaluate(() => {
      for (let i = 0; i < sessionStorage.length; ++i) sessionStorage.setItem(sessionStorage.key(i) ?? "", "adm_revoked_credential_0123456789abcdef");
    });
    await page.locator('nav a[data-page="businesses"]').click();
    await page.getByTestId("sign-in-message").filter({ hasText: "sign in again" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.getByTestId("credential").fill(credential);
    await page.getByTestId("sign-in-submit").click();
    await page.getByTestId("businesses-table").waitFor();
    await page.getByTestId("sign-out").click();
    await page.getByTestId("sign-in-message").filter({ hasText: "Signed out" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);

    assert.deepEqual(dialogs, [], "no script ran from a value");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.stop();
  }
});
