// @ts-check
// A line chart drawn as SVG, with no library: one series over time, a gap where a value is
// null (no request in that interval has no p99), a zero baseline and the series' maximum.

const kSvg = "http://www.w3.org/2000/svg";
const kWidth = 480;
const kHeight = 140;
const kPad = { left: 48, right: 8, top: 10, bottom: 22 };

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attributes
 * @param {string} [text]
 */
function svg(tag, attributes, text) {
  const element = document.createElementNS(kSvg, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/**
 * The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value` (1 for 0).
 * @param {number} value
 */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * The points as runs of consecutive non-null values: each run is one polyline.
 * @param {{ t: number, v: number | null }[]} points
 * @returns {{ t: number, v: number }[][]}
 */
export function runs(points) {
  /** @type {{ t: number, v: number }[][]} */
  const out = [];
  /** @type {{ t: number, v: number }[]} */
  let run = [];
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) {
      if (run.length) out.push(run);
      run = [];
    } else {
      run.push({ t: p.t, v: p.v });
    }
  }
  if (run.length) out.push(run);
  return out;
}

/**
 * @param {Date} date
 */
function clock(date) {
  return date.toISOString().slice(11, 16);
}

/**
 * An SVG chart of `points` (t: milliseconds since the epoch, oldest first).
 * @param {{ t: number, v: number | null }[]} points
 * @param {{ label: string, format: (v: number) => string, maximum?: number }} options
 *   `maximum`: the top of the scale when fixed (an error rate's 1)
 * @returns {SVGSVGElement}
 */
export function lineChart(points, options) {
  const chart = /** @type {SVGSVGElement} */ (svg("svg", { viewBox: `0 0 ${kWidth} ${kHeight}`, class: "chart", role: "img" }));
  chart.appendChild(svg("title", {}, options.label));
  const values = points.map((p) => p.v).filter((v) => v !== null && Number.isFinite(v));
  const top = options.maximum ?? niceCeiling(Math.max(0, ...(/** @type {number[]} */ (values))));
  const first = points.length ? points[0].t : 0;
  const last = points.length ? points[points.length - 1].t : 1;
  const span = Math.max(1, last - first);
  const innerWidth = kWidth - kPad.left - kPad.right;
  const innerHeight = kHeight - kPad.top - kPad.bottom;
  /** @param {number} t */
  const x = (t) => kPad.left + ((t - first) / span) * innerWidth;
  /** @param {number} v */
  const y = (v) => kPad.top + innerHeight - (Math.min(v, top) / top) * innerHeight;

  for (const v of [0, top / 2, top]) {
    chart.appendChild(svg("line", { x1: kPad.left, x2: kWidth - kPad.right, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }));
    chart.appendChild(svg("text", { x: kPad.left - 4, y: y(v) + 4, class: "tick", "text-anchor": "end" }, options.format(v)));
  }
  if (points.length) {
    chart.appendChild(svg("text", { x: kPad.left, y: kHeight - 6, class: "tick" }, `${clock(new Date(first))} UTC`));
    chart.appendChild(svg("text", { x: kWidth - kPad.right, y: kHeight - 6, class: "tick", "text-anchor": "end" }, `${clock(new Date(last))} UTC`));
  }
  for (const run of runs(points)) {
    if (run.length === 1) {
      chart.appendChild(svg("circle", { cx: x(run[0].t), cy: y(run[0].v), r: 2, class: "dot" }));
      continue;
    }
    const path = run.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    chart.appendChild(svg("polyline", { points: path, class: "line" }));
  }
  return chart;
}
