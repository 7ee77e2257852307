// Debian's chromium through playwright-core, kept off the network: headless, no sandbox (CI
// runs as root), no GPU, no QUIC, no background/component/sync traffic, a fresh profile.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** {context, page, close()}: a persistent context on a fresh temporary profile. */
export async function launch(options = {}) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), "fomm-web-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    ...options,
  });
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Block (and record) every request from `context` to a host other than `origin`'s; returns
 * the live list of blocked URLs.
 */
export async function blockOtherHosts(context, origin) {
  const foreign = [];
  const host = new URL(origin).host;
  const other = (u) => (u.protocol === "http:" || u.protocol === "https:") && u.host !== host;
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (other(u)) {
      if (!foreign.includes(u.href)) foreign.push(u.href);
      return route.abort("blockedbyclient");
    }
    return route.continue();
  });
  context.on("request", (req) => {
    const u = new URL(req.url());
    if (other(u) && !foreign.includes(u.href)) foreign.push(u.href);
  });
  return foreign;
}
