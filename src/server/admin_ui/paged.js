// @ts-check
// A list read page by page with the admin API's opaque cursors: "Next page" asks for the
// page after the last one shown, "First page" starts again.
import { append, clear, errorNotice, h } from "./dom.js";

/**
 * @template T
 * @param {HTMLElement} container  emptied and refilled with each page
 * @param {(cursor: string | null) => Promise<{ rows: T[], nextCursor: string | null }>} load
 * @param {(rows: T[]) => Node} render
 * @param {string} testid  prefix of the controls' data-testid
 * @returns {{ reload: () => Promise<void> }}  reload: the first page again
 */
export function pagedList(container, load, render, testid) {
  /** @type {(string | null)[]} cursors of the pages shown so far; the last is the one shown */
  let cursors = [null];

  const show = async () => {
    const cursor = cursors[cursors.length - 1] ?? null;
    clear(container);
    container.appendChild(h("p", { class: "muted" }, "Loading…"));
    let page;
    try {
      page = await load(cursor);
    } catch (error) {
      clear(container);
      container.appendChild(errorNotice(error));
      return;
    }
    clear(container);
    const next = h("button", { type: "button", "data-testid": `${testid}-next`, disabled: page.nextCursor === null }, "Next page");
    next.addEventListener("click", () => {
      cursors.push(page.nextCursor);
      void show();
    });
    const first = h("button", { type: "button", class: "secondary", "data-testid": `${testid}-first`, disabled: cursors.length === 1 }, "First page");
    first.addEventListener("click", () => {
      cursors = [null];
      void show();
    });
    append(container, [
      render(page.rows),
      h("div", { class: "pager" }, first, h("span", { class: "muted", "data-testid": `${testid}-page` }, `Page ${cursors.length}`), next),
    ]);
  };

  return {
    reload: () => {
      cursors = [null];
      return show();
    },
  };
}
