// @ts-check
// Overview: the last hour of the server's traffic from GET /admin/overview (samples every
// 10 s), redrawn every 10 s while the page is open.
import * as api from "./api.js";
import { lineChart } from "./chart.js";
import { append, clear, errorNotice, h, percent } from "./dom.js";

const kRefreshMs = 10000;

/** @param {number} v */
const rate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const kSeries = [
  { key: "requestsPerSecond", title: "Requests per second", format: rate, now: rate },
  { key: "operationsPerSecond", title: "Operations per second", format: rate, now: rate },
  { key: "errorRate", title: "Error rate", format: (/** @type {number} */ v) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)} %`, now: percent },
  { key: "p99Ms", title: "p99 latency", format: (/** @type {number} */ v) => `${rate(v)} ms`, now: (/** @type {number | null} */ v) => (v === null ? "–" : `${rate(v)} ms`) },
];

/**
 * @param {HTMLElement} main
 * @returns {() => void} stops the refresh
 */
export function mount(main) {
  const status = h("p", { class: "muted", "data-testid": "overview-status" }, "Loading…");
  const body = h("div", { class: "charts", "data-testid": "overview-charts" });
  append(main, [h("h1", {}, "Overview"), h("p", { class: "muted" }, "The last hour, sampled every 10 s; refreshed every 10 s."), status, body]);
  let stopped = false;

  const refresh = async () => {
    try {
      const answer = await api.get("/admin/overview");
      if (stopped) return;
      draw(body, answer);
      status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC · ${answer.samples.length} sample${answer.samples.length === 1 ? "" : "s"}`;
    } catch (error) {
      if (stopped) return;
      clear(body);
      body.appendChild(errorNotice(error));
      status.textContent = "";
    }
  };
  void refresh();
  const timer = setInterval(refresh, kRefreshMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * @param {HTMLElement} body
 * @param {{ intervalSeconds: number, samples: Record<string, any>[] }} answer
 */
function draw(body, answer) {
  clear(body);
  const samples = Array.isArray(answer.samples) ? answer.samples : [];
  if (samples.length === 0) {
    body.appendChild(h("p", { class: "muted empty", "data-testid": "overview-empty" }, "No samples yet: the server takes one every 10 s."));
    return;
  }
  const latest = samples[samples.length - 1];
  for (const series of kSeries) {
    const points = samples.map((s) => ({ t: Date.parse(s.at), v: typeof s[series.key] === "number" ? s[series.key] : null }));
    const options = { label: `${series.title}, last hour`, format: series.format };
    if (series.key === "errorRate") Object.assign(options, { maximum: niceRate(points) });
    append(body, [
      h(
        "section",
        { class: "card chart-card", "data-testid": `chart-${series.key}` },
        h("h2", {}, series.title),
        h("p", { class: "now", "data-testid": `now-${series.key}` }, series.now(latest[series.key] ?? null)),
        lineChart(points, options),
      ),
    ]);
  }
}

/**
 * The top of the error rate's scale: 1 % at least, else the next of 5, 10, 25, 50, 100 %.
 * @param {{ v: number | null }[]} points
 */
function niceRate(points) {
  const highest = Math.max(0, ...points.map((p) => p.v ?? 0));
  for (const top of [0.01, 0.05, 0.1, 0.25, 0.5]) if (highest <= top) return top;
  return 1;
}
