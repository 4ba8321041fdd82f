// The web console (issue 18) in a real browser: Debian's chromium driven by
// Playwright (playwright-core, the system browser). Two hosts started by
// the CLI with their defaults (the HTTP API on, each on its own port) and a
// migration port. In the page of the first: a wrong token is refused at
// the login; the right one opens the domain table; a Linux guest is created
// from the form (xl.cfg text); `uname -r` typed into its web console is
// answered by the guest's kernel; it is paused and unpaused with the
// table's buttons and the table follows; the migrate dialog moves it to the
// second host with its progress bar; in the second host's page it is
// destroyed (confirmed), and another is created there from the form's
// fields. With XENTS_SCREENSHOTS=<dir>, the main pages are
// saved there (docs/ has the ones the README shows).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { xentsOk, xentsCli } from "../helpers/cli.js";
import { diskImage, linuxGuestFields, xlCfgText } from "../helpers/guest_files.js";

const CHROMIUM = "/usr/bin/chromium";
const root = mkdtempSync(join(tmpdir(), "xents-web-"));
const homeA = join(root, "a"), homeB = join(root, "b");
const shots = process.env.XENTS_SCREENSHOTS;
let browser: Browser | null = null;

interface HostInfo { url: string; token: string; migratePort: number }
async function hostInfo(home: string): Promise<HostInfo> {
  const st = JSON.parse(await xentsOk(home, ["host", "status", "--json"])) as { http: string; migrate_port: number };
  return { url: `http://${st.http}`, token: readFileSync(join(home, "http.token"), "utf8").trim(), migratePort: st.migrate_port };
}

before(async () => {
  const key = join(root, "migrate.key");
  writeFileSync(key, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  for (const h of [homeA, homeB]) { mkdirSync(h, { mode: 0o700 }); copyFileSync(key, join(h, "migrate.key")); }
  await xentsOk(homeA, ["host", "start", "--memory", "512", "--migrate-port", "0"], 60_000);
  await xentsOk(homeB, ["host", "start", "--memory", "512", "--migrate-port", "0"], 60_000);
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
  for (const h of [homeA, homeB]) await xentsCli(h, ["host", "stop"], 60_000).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

async function login(page: Page, h: HostInfo, token = h.token): Promise<void> {
  await page.goto(h.url);
  assert.match(page.url(), /\/login$/, "a page without the cookie asks to log in");
  await page.fill("input[name=token]", token);
  await page.click("button[type=submit]");
}
const shot = async (page: Page, name: string): Promise<void> => {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, name), fullPage: true });
};
const row = (page: Page, name: string) => page.locator(`#domains tr[data-domain="${name}"]`);

test("the web console in chromium: login, create a Linux guest from the page, its console, pause and unpause, migrate with the dialog, destroy", { skip: existsSync(CHROMIUM) ? false : `needs Debian's chromium (${CHROMIUM}; scripts/setup.sh installs it)` }, async (t) => {
  const a = await hostInfo(homeA), b = await hostInfo(homeB);
  assert.notEqual(a.url, b.url, "two hosts, two ports (the second moved past the first's)");
  const ctx = await browser!.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  page.on("dialog", (d) => void d.accept()); // the confirmations

  // the login refuses a wrong token, takes the right one
  await login(page, a, "0".repeat(64));
  await page.getByText("That is not this host's token.").waitFor();
  await login(page, a);
  await page.locator("#domains").getByText("Domain-0").waitFor();
  assert.equal(new URL(page.url()).pathname, "/");

  // a Linux guest from the form
  const disk = diskImage(join(root, "web.img"), 16);
  await page.fill("#create-config", xlCfgText(linuxGuestFields("webguest", 128, 1, { disk: [`format=raw, vdev=xvda, access=rw, target=${disk}`], vif: ["mac=00:16:3e:00:0e:0b, bridge=xenbr0"] })));
  await page.click("#create-form button[type=submit]");
  await page.locator("#create-status.ok").waitFor({ timeout: 60_000 });
  await row(page, "webguest").waitFor();
  await shot(page, "web-domains.png");

  // its console: the shell, then uname -r answered by the guest's kernel
  await page.click(`#domains a[href="#/domain/webguest"]`);
  // what the terminal shows, a line per row (xterm draws spaces as no-break spaces)
  // biome-ignore lint/performance/useDomNodeTextContent: innerText keeps the rows' line breaks, which textContent drops
  const screen = (): Promise<string> => page.locator("#terminal .xterm-rows").evaluate((e) => (e as HTMLElement).innerText.replace(/\u00a0/g, " "));
  const waitScreen = async (what: string, re: RegExp, ms: number): Promise<void> => {
    for (const t0 = Date.now(); !re.test(await screen()); await new Promise((r) => setTimeout(r, 250))) assert.ok(Date.now() - t0 < ms, `${what}:\n${await screen()}`);
  };
  await waitScreen("the guest's shell in the web console", /xents: busybox shell/, 300_000);
  await page.locator("#terminal").click();
  await page.keyboard.press("Enter");
  await waitScreen("its prompt", /^\/ # *$/m, 60_000);
  await page.keyboard.type("uname -r\n");
  const release = /^6\.1\.0-[0-9]+-arm64 *$/m;
  await waitScreen("uname -r answered in the web console", release, 60_000);
  t.diagnostic(`the web console answered: ${release.exec(await screen())![0].trim()}`);
  await page.locator("#disks td", { hasText: "xvda" }).waitFor();
  await page.locator("#vifs td", { hasText: "00:16:3e:00:0e:0b" }).waitFor();
  // something for the CPU column to show
  await page.keyboard.type("(while :; do :; done) &\n");
  await shot(page, "web-domain.png");

  // pause and unpause from the table, which follows
  await page.click('a[href="#/"]');
  const state = row(page, "webguest").locator("td.state");
  // the table updates by itself: the busy guest's CPU shows
  await page.waitForFunction(() => Number(document.querySelector('#domains tr[data-domain="webguest"] td.cpu')?.textContent ?? "0") > 20, undefined, { timeout: 30_000 });
  await row(page, "webguest").getByRole("button", { name: "Pause" }).click();
  await assert.doesNotReject(state.filter({ hasText: "p" }).waitFor({ timeout: 10_000 }));
  await row(page, "webguest").getByRole("button", { name: "Unpause" }).click();
  await page.waitForFunction(() => !/p/.test(document.querySelector('#domains tr[data-domain="webguest"] td.state')?.textContent ?? "p"), undefined, { timeout: 10_000 });

  // migrate it to the second host with the dialog
  await row(page, "webguest").getByRole("button", { name: "Migrate" }).click();
  await page.fill("#migrate-form input[name=port]", String(b.migratePort));
  await page.click("#migrate-start");
  await page.locator("#migrate-status.ok").waitFor({ timeout: 120_000 });
  await shot(page, "web-migrate.png");
  assert.equal(await page.locator("#migrate-progress").evaluate((e) => (e as HTMLProgressElement).value === (e as HTMLProgressElement).max), true, "the bar is full");
  assert.ok(Number(await page.locator("#migrate-progress").getAttribute("data-progress-events")) > 0, "the bar moved with the migration's progress events");
  await page.click("#migrate-cancel");
  await row(page, "webguest").waitFor({ state: "detached", timeout: 10_000 });

  // in the second host's page: there, and destroyed
  const pageB = await (await browser!.newContext()).newPage();
  pageB.on("dialog", (d) => void d.accept());
  await login(pageB, b);
  await row(pageB, "webguest").waitFor({ timeout: 10_000 });
  await row(pageB, "webguest").getByRole("button", { name: "Destroy" }).click();
  await row(pageB, "webguest").waitFor({ state: "detached", timeout: 10_000 });
  assert.doesNotMatch(await xentsOk(homeB, ["list"]), /webguest/);

  // a domain from the fields instead of the text (paused: it need not boot)
  const images = linuxGuestFields("fieldguest", 64);
  await pageB.fill("#create-fields input[name=name]", "fieldguest");
  await pageB.fill("#create-fields input[name=memory]", "64");
  await pageB.fill("#create-fields input[name=kernel]", String(images.kernel));
  await pageB.fill("#create-fields input[name=ramdisk]", String(images.ramdisk));
  await pageB.check("#create-fields input[name=paused]");
  await pageB.click("#create-fields button[type=submit]");
  await row(pageB, "fieldguest").locator("td.state", { hasText: "p" }).waitFor({ timeout: 30_000 });
  assert.match(await xentsOk(homeB, ["list"]), /^fieldguest\s+\d+\s+64\s+1\s+--p---/m, "as the CLI sees it");
  await row(pageB, "fieldguest").getByRole("button", { name: "Destroy" }).click();
  await row(pageB, "fieldguest").waitFor({ state: "detached", timeout: 10_000 });
  await ctx.close();
});
