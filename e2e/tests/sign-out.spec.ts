import { SCHEMA_VERSION, decodeServerFrame, encodeClientFrame } from "@notesync/protocol";
import WebSocket from "ws";
import { expect, newContext, signUp, test, uniqueName } from "./fixtures";

/** What the server answers a hello carrying `token`: "welcome", or the error code. */
async function helloAnswer(syncUrl: string, token: string): Promise<string> {
  const ws = new WebSocket(syncUrl);
  await new Promise((resolve) => ws.once("open", resolve));
  ws.send(
    encodeClientFrame({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: new Uint8Array(16).fill(7),
      serverVersion: 0,
      token,
      incarnation: new Uint8Array(),
    }),
  );
  const data = await new Promise<Buffer>((resolve) => ws.once("message", resolve));
  ws.close();
  const decoded = decodeServerFrame(data);
  if (!decoded.ok) return "undecodable";
  return decoded.frame.type === "error" ? decoded.frame.code : decoded.frame.type;
}

test("signing out ends the session on the server: its token no longer syncs", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("leaver"));
  const token = await page.evaluate(
    () => (JSON.parse(localStorage.getItem("notesync:session")!) as { token: string }).token,
  );
  expect(await helloAnswer(server.syncUrl, token)).toBe("welcome");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await expect.poll(() => helloAnswer(server.syncUrl, token)).toBe("unauthorized");
  await context.close();
});

test("signing out in one tab signs out the other tabs of the browser too", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("tabs-out"));
  const other = await context.newPage();
  await other.goto(server.url);
  await expect(other.getByRole("status")).toContainText("Live");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(other.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await context.close();
});
