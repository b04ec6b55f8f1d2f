// The seed's "React (Vite/CRA)" recipe (kryptos-connect.md, "Framework Integration"): the
// provider of the Quick Start's step 2, configured from Vite's environment.
import ReactDOM from "react-dom/client";
import { KryptosConnectProvider } from "@kryptos_connect/web-sdk";
import "@kryptos_connect/web-sdk/dist/styles/index.css";
import App from "./App";
import "./app.css";

const config = {
  appName: "My React App",
  clientId: import.meta.env.VITE_KRYPTOS_CLIENT_ID,
  walletConnectProjectId: import.meta.env.VITE_WALLETCONNECT_PROJECT_ID,
  theme: "light" as const,
  // Only needed when the SDK was not installed from the Kryptos Connect server itself
  // (`npm install https://<server>/sdk/web-sdk.tgz` already points at that server).
  baseUrl: import.meta.env.VITE_KRYPTOS_BASE_URL,
};

ReactDOM.createRoot(document.getElementById("root")!).render(
  <KryptosConnectProvider config={config}>
    <App />
  </KryptosConnectProvider>
);
