// The standalone pairing page (/pair): Web Bluetooth, so Chrome or Edge.
import "./style.css";
import { applyTheme, initialTheme } from "./lib/theme";
import { mountPair } from "./pages/pair";

applyTheme(initialTheme());
mountPair(document.getElementById("page")!);
