// Light, dark or the system's choice; remembered per browser and set from
// the relay's settings when an admin is signed in.
export type Theme = "system" | "light" | "dark";

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem("relaydeck-theme", theme);
  } catch {
    /* private mode */
  }
}

export function initialTheme(): Theme {
  try {
    const t = localStorage.getItem("relaydeck-theme");
    if (t === "light" || t === "dark" || t === "system") return t;
  } catch {
    /* private mode */
  }
  return "system";
}
