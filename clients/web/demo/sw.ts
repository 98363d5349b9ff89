// The demo's Service Worker: pushes the queue and pulls when the browser reports that
// connectivity is back, even with the page closed (the package's installBackgroundSync).
import { installBackgroundSync } from "../src/service-worker.js";
import { dbName } from "./db-name.js";

// It takes control of the demo's pages from their next load, as a worker does by default:
// the page that registers it syncs by itself until then.
installBackgroundSync(self, { dbName });
