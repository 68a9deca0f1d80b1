/** What the console's browser tests read from a page: chart data, drawn pixels, screenshots. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '@refit/stack';

// The few browser globals the functions run in the page use (this project compiles without the
// DOM library, whose Crypto type clashes with node's).
type PageElement = {
  textContent: string | null;
  innerHTML: string;
  method: string;
  action: string;
  width: number;
  height: number;
  append(e: PageElement): void;
  submit(): void;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
};
declare const document: { body: PageElement; querySelector(s: string): PageElement | null; querySelectorAll(s: string): ArrayLike<PageElement>; createElement(tag: string): PageElement };
declare const window: Record<string, unknown>;

/** Screenshots of the console's pages, kept as test artefacts (git-ignored). */
export const ARTIFACTS = join(REPO_ROOT, 'test/e2e/artifacts/console');

/** Laptop and phone widths the pages are shot at. */
export const WIDTHS = { laptop: 1280, phone: 390 } as const;

/** A chart's data as the page embeds it (libs/views `chart`): one entry per series. */
export type ChartData = { series: Array<{ label: string; x: number[]; y: Array<number | null> }> };

/** The JSON a `[data-chart]` figure carries, which the page script hands to uPlot. */
export async function chartData(page: Page, testid: string): Promise<ChartData> {
  const text = await page.locator(`[data-testid="${testid}"] script[type="application/json"]`).first().textContent();
  return JSON.parse(text ?? 'null') as ChartData;
}

/** The series colours of the page script, in order: candidate (or reference), then champion (or current). */
export const SERIES_COLORS = { first: [0x24, 0x56, 0xc7], second: [0xd9, 0x48, 0x0f] } as const;

/**
 * Waits until uPlot has drawn the chart `testid` (its canvas and legend exist), then counts the
 * canvas pixels close to each series colour: a line that was drawn leaves pixels of its colour.
 */
export async function drawnPixels(page: Page, testid: string): Promise<{ first: number; second: number; legend: string[] }> {
  const figure = `[data-testid="${testid}"]`;
  await page.locator(`${figure} canvas`).first().waitFor({ state: 'attached' });
  return page.evaluate(
    ({ figure, colors }) => {
      const canvas = document.querySelector(`${figure} canvas`)!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const near = (i: number, c: readonly number[]) => data[i + 3] > 200 && Math.abs(data[i] - c[0]) < 40 && Math.abs(data[i + 1] - c[1]) < 40 && Math.abs(data[i + 2] - c[2]) < 40;
      let first = 0;
      let second = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (near(i, colors.first)) first++;
        else if (near(i, colors.second)) second++;
      }
      const legend = Array.from(document.querySelectorAll(`${figure} .u-legend .u-series .u-label`), (e) => e.textContent ?? '');
      return { first, second, legend };
    },
    { figure, colors: SERIES_COLORS },
  );
}

/** Saves a full-page screenshot of what `page` shows at `width` as `<name>-<width>.png`. */
export async function screenshot(page: Page, name: string, width: number): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize({ width, height: 900 });
  const path = join(ARTIFACTS, `${name}-${width}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The texts of every element with this data-testid under `scope` (default the whole page). */
export async function texts(page: Page, testid: string, scope = 'body'): Promise<string[]> {
  return page.locator(`${scope} [data-testid="${testid}"]`).allTextContents();
}

/** Waits (the browser polls, no fixed sleep) until the element `testid` reads `text`. */
export async function waitForText(page: Page, testid: string, text: string, timeoutMs: number): Promise<void> {
  await page.waitForFunction(({ testid, text }) => document.querySelector(`[data-testid="${testid}"]`)?.textContent === text, { testid, text }, { timeout: timeoutMs });
}

/** Sets a value on the page's `window`: it survives only as long as the page is not reloaded. */
export async function setMarker(page: Page, value: string): Promise<void> {
  await page.evaluate((v) => void (window.refitMarker = v), value);
}

/** The value {@link setMarker} set, if the page is still the same document. */
export async function markerOf(page: Page): Promise<unknown> {
  return page.evaluate(() => window.refitMarker);
}

/** Posts a form built in the page (as a person could from their browser's console) to `action`. */
export async function submitForm(page: Page, action: string, fields: Record<string, string>): Promise<void> {
  await page.evaluate(
    ({ action, fields }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        Object.assign(input, { name, value });
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    },
    { action, fields },
  );
}
