import { expect, signUp, test, uniqueName } from "./fixtures";

const DARK = "rgb(13, 17, 23)";
const LIGHT = "rgb(255, 255, 255)";

test("dark mode follows the system, the toggle overrides it and is kept, and Settings can return to the system's", async ({
  browser,
  server,
}) => {
  const context = await browser.newContext({ colorScheme: "dark" });
  const page = await context.newPage();
  await page.goto(server.url);
  const html = page.locator("html");
  // The sign-in screen already follows the system.
  await expect(html).toHaveCSS("background-color", DARK);
  await signUp(page, server, uniqueName("night"));
  const toggle = page.getByRole("button", { name: "Dark mode" });
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("navigation", { name: "Notes" })).toHaveCSS(
    "background-color",
    "rgb(22, 27, 34)",
  );

  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "false");
  await expect(html).toHaveCSS("background-color", LIGHT);
  await page.reload();
  await expect(html).toHaveCSS("background-color", LIGHT);
  await expect(page.getByRole("button", { name: "Dark mode" })).toHaveAttribute(
    "aria-pressed",
    "false",
  );

  await page.getByRole("button", { name: "Settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Settings" });
  await expect(dialog.getByRole("radio", { name: "Light" })).toBeChecked();
  await dialog.getByRole("radio", { name: "Same as the system" }).check();
  await expect(html).toHaveCSS("background-color", DARK);
  // Following the system means following its changes, live.
  await page.emulateMedia({ colorScheme: "light" });
  await expect(html).toHaveCSS("background-color", LIGHT);
  await page.emulateMedia({ colorScheme: "dark" });
  await expect(html).toHaveCSS("background-color", DARK);
  await context.close();
});
