/**
 * A headless Chromium for browser tests and benchmarks: Debian's `chromium` driven by
 * playwright-core (no browser download). Found through `REFIT_CHROMIUM`, else /usr/bin/chromium.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian puts its Chromium. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

// Without the background-networking switches Chromium dials Google's services at start-up, and on
// a machine without outside network those refused connections slow it down or stall it.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Options of {@link launchBrowser}. */
export type LaunchBrowserOptions = {
  /** The Chromium binary. Default `REFIT_CHROMIUM`, else {@link DEFAULT_CHROMIUM}. */
  executablePath?: string;
  /** Extra command-line switches after the defaults. Default none. */
  args?: readonly string[];
};

/** The Chromium binary to use, or an error that says how to install one. */
export function chromiumPath(given = process.env.REFIT_CHROMIUM?.trim() || DEFAULT_CHROMIUM): string {
  try {
    accessSync(given, constants.X_OK);
    return given;
  } catch {
    throw new Error(
      `no Chromium at ${given}: install Debian's (\`sudo apt-get install chromium\`) or point REFIT_CHROMIUM at a Chromium or Chrome binary`,
    );
  }
}

/** Starts a headless Chromium; close it with `close()` or `await using`. */
export async function launchBrowser(opts: LaunchBrowserOptions = {}): Promise<Browser> {
  return chromium.launch({ executablePath: opts.executablePath ?? chromiumPath(), args: [...ARGS, ...(opts.args ?? [])] });
}
