export * from "../index.js";
export {
  openBrowserDatabase,
  deleteBrowserDatabase,
  type BrowserDatabaseOptions,
} from "./wasm-database.js";
export {
  createCrossTabSyncClient,
  type CrossTabOptions,
  type TabMessage,
  type LockManagerLike,
  type ChannelLike,
} from "../cross-tab.js";
