// The standalone capture page a publish link opens (/capture?token=…).
import "./style.css";
import { applyTheme, initialTheme } from "./lib/theme";
import { mountCapture } from "./pages/capture";

applyTheme(initialTheme());
mountCapture(document.getElementById("page")!);
