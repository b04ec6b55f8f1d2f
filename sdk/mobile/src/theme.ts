import type { KryptosConnectTheme } from "./types";

/** Colours of the native screens and the button: the widget's light and dark defaults. */
export interface Palette {
  background: string;
  text: string;
  muted: string;
  primary: string;
  primaryText: string;
  border: string;
}

export const PALETTES: Record<KryptosConnectTheme, Palette> = {
  light: {
    background: "#ffffff",
    text: "#1f2937",
    muted: "#4b5563",
    primary: "#00c693",
    primaryText: "#03261c",
    border: "#e5e7eb",
  },
  dark: {
    background: "#0a0a0a",
    text: "#f6f6f8",
    muted: "#e5e7eb",
    primary: "#00c693",
    primaryText: "#03261c",
    border: "#334155",
  },
};
