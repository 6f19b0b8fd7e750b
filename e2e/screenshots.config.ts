import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// `npm run screenshots`: the real app, built, against a real server, photographed into docs/.
export default defineConfig({ ...base, testDir: "./screenshots" });
