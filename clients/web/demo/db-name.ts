// The IndexedDB database the page's client and its Service Worker share.
export const dbName = "avsync-demo";
