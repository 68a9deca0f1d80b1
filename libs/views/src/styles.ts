/** The console's one stylesheet: system fonts, a responsive grid of cards, readable tables. */
export const CONSOLE_CSS = `
:root{--fg:#1d2433;--muted:#5b6475;--bg:#f6f7f9;--card:#fff;--line:#e2e5ea;--accent:#2456c7;--ok:#17803d;--bad:#b42318;--warn:#a15c00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.6rem 1rem;background:#111827;color:#fff}
header.top a{color:#dbe4ff;text-decoration:none}
header.top .brand{font-weight:700;color:#fff;margin-right:.5rem}
header.top .who{margin-left:auto;color:#c7cbd4;font-size:.9em}
main{padding:1rem;max-width:1280px;margin:0 auto}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
[data-testid=live-status]{font-size:.75rem;font-weight:400}
h2{font-size:1.1rem;margin:0 0 .6rem}
h3{font-size:1rem;margin:.8rem 0 .4rem}
a{color:var(--accent)}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,380px),1fr))}
.wide{grid-column:1/-1}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;min-width:0}
.muted{color:var(--muted)}
.pass,.ok{color:var(--ok)}.fail,.bad{color:var(--bad)}.inconclusive,.warn{color:var(--warn)}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;border:1px solid currentColor;font-size:.8em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
ul.reasons{padding-left:1.2rem;margin:.3rem 0}ul.reasons li{margin:.25rem 0}
.timeline{list-style:none;padding:0;margin:0}
.timeline li{display:grid;grid-template-columns:8rem 1fr;gap:.5rem;padding:.35rem 0;border-bottom:1px solid var(--line)}
.bar{display:block;width:100%;height:.5rem;background:#eef1f6;border-radius:4px}.bar rect{fill:var(--accent)}
.chart{min-height:260px}.chart .plot{width:100%}
form.action{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.4rem 0}
form.action input[type=text],form.action input[type=password]{flex:1 1 12rem;padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px}
button{padding:.35rem .8rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.danger{background:var(--bad);border-color:var(--bad)}
.error{border-color:var(--bad)}
@media (max-width:600px){main{padding:.5rem}.timeline li{grid-template-columns:1fr}header.top .who{margin-left:0}}
`;
