// The standalone pairing page (/pair): Web Bluetooth, so Chrome or Edge.
import "./style.css";
import { pairingPass } from "./lib/api";
import { applyTheme, initialTheme } from "./lib/theme";
import { mountPair } from "./pages/pair";

applyTheme(initialTheme());
// A phone pairing's page reaches nothing but itself: no links into the app.
if (pairingPass()) document.querySelectorAll("header.top a").forEach((a) => a.remove());
mountPair(document.getElementById("page")!);
