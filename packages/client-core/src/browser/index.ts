export * from "../index.js";
export {
  openBrowserDatabase,
  deleteBrowserDatabase,
  type BrowserDatabaseOptions,
} from "./browser-database.js";
export type { BrowserDatabase } from "./worker-database.js";
export type { BrowserStorage } from "./worker-protocol.js";
export {
  createCrossTabSyncClient,
  type CrossTabOptions,
  type TabMessage,
  type LockManagerLike,
  type ChannelLike,
} from "../cross-tab.js";
