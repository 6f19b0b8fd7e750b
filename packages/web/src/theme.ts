import { computed, ref } from "vue";

/** "system" follows the operating system's light or dark setting, live. */
export type ThemeChoice = "system" | "light" | "dark";

const KEY = "notesync:theme";
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const systemDark = ref(dark.matches);
const stored = localStorage.getItem(KEY);
export const themeChoice = ref<ThemeChoice>(
  stored === "light" || stored === "dark" ? stored : "system",
);
/** The theme in effect. */
export const theme = computed<"light" | "dark">(() =>
  themeChoice.value === "system" ? (systemDark.value ? "dark" : "light") : themeChoice.value,
);

function apply() {
  document.documentElement.dataset.theme = theme.value;
  document
    .querySelector('meta[name="theme-color"]')
    ?.setAttribute("content", theme.value === "dark" ? "#0d1117" : "#1f6feb");
}

export function setTheme(choice: ThemeChoice): void {
  themeChoice.value = choice;
  if (choice === "system") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, choice);
  apply();
}

/** The quick toggle: the other theme than the one shown, kept until changed. */
export const toggleTheme = () => setTheme(theme.value === "dark" ? "light" : "dark");

/** Applies the theme now (before the app is drawn: no flash) and follows the system's changes. */
export function startTheme(): void {
  apply();
  dark.addEventListener("change", (e) => {
    systemDark.value = e.matches;
    apply();
  });
  // Another tab changed the choice.
  window.addEventListener("storage", (e) => {
    if (e.key !== KEY && e.key !== null) return;
    const next = localStorage.getItem(KEY);
    themeChoice.value = next === "light" || next === "dark" ? next : "system";
    apply();
  });
}
