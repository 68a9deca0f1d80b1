/**
 * uPlot's browser files, read once from the installed package (the only file access of this
 * library): the console serves them under /assets, standalone pages inline them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** uPlot's script (the IIFE build, defining `uPlot`) and stylesheet. */
export type UplotAssets = { readonly js: string; readonly css: string };

let cached: UplotAssets | undefined;

/**
 * Loads uPlot's minified IIFE script and CSS. The script's leading licence banner (which names
 * the project's web address) is moved into a plain comment without the URL, so a standalone
 * file holds no web address at all; the licence name and version stay.
 */
export function loadUplotAssets(): UplotAssets {
  if (cached) return cached;
  const dist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  const js = readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8').replace(/^\/\*![^*]*\(v([\d.]+)\) \*\//, '/* uPlot v$1, MIT licence, by Leon Sorokin */');
  const css = readFileSync(join(dist, 'uPlot.min.css'), 'utf8');
  cached = Object.freeze({ js, css });
  return cached;
}
