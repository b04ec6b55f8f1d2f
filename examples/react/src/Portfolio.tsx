// The part of the example beyond the Quick Start: once the backend holds an access token,
// it reads the user's holdings from the Data API (GET /api/kryptos/holdings) and this shows them.
import { useEffect, useState } from "react";

/** What the page knows about this browser's connection. */
export type Connection =
  | { kind: "unknown" } // page load: asking the backend
  | { kind: "none" } // nothing stored for this browser
  | { kind: "connected" } // connected on an earlier visit
  | { kind: "new" } // onSuccess({public_token}) and the backend exchanged it
  | { kind: "returning" } // onSuccess(null): the account was already connected
  | { kind: "failed"; message: string };

/** One row of the Data API's `GET /api/v1/holdings`, as far as this page uses it. */
interface Holding {
  asset: { symbol: string; publicName: string; chainId: string };
  totalQuantity: number;
  marketPrice: number;
  marketValue: number;
  baseCurrency: string;
}

interface HoldingsResponse {
  holdings: Holding[];
  summary: { totalValue: number };
}

type Load =
  | { state: "loading" }
  | { state: "syncing" }
  | { state: "ready"; data: HoldingsResponse }
  | { state: "error"; message: string };

const STATUS: Record<string, string> = {
  new: "Connected! Your portfolio is now shared with My React App.",
  returning: "Already connected: your Kryptos account was linked before, so there was nothing new to approve.",
  connected: "Your Kryptos account is connected.",
};

const money = (value: number, currency: string) =>
  new Intl.NumberFormat("en-US", { style: "currency", currency: currency || "USD" }).format(value);
const quantity = (value: number) => new Intl.NumberFormat("en-US", { maximumFractionDigits: 8 }).format(value);

/** The connection status and, when connected, the holdings (polled until the first sync ends). */
export function Portfolio({ connection, onChange }: { connection: Connection; onChange: (c: Connection) => void }) {
  const [load, setLoad] = useState<Load>({ state: "loading" });

  // Page load: does the backend already hold a working access token for this browser?
  useEffect(() => {
    if (connection.kind !== "unknown") return;
    let live = true;
    fetch("/api/kryptos/session")
      .then((r) => r.json())
      .then((s) => live && onChange(s.connected ? { kind: "connected" } : { kind: "none" }))
      .catch(() => live && onChange({ kind: "none" }));
    return () => {
      live = false;
    };
  }, [connection.kind, onChange]);

  // Connected: read the holdings; a first sync may still be running, so poll briefly.
  useEffect(() => {
    if (!["new", "returning", "connected"].includes(connection.kind)) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setLoad({ state: "loading" });
    const attempt = async (n: number) => {
      try {
        const response = await fetch("/api/kryptos/holdings");
        const body = await response.json();
        if (!live) return;
        if (!response.ok) {
          setLoad({ state: "error", message: body.error ?? "The holdings could not be read." });
        } else if (body.holdings.length === 0 && n < 20) {
          setLoad({ state: "syncing" });
          timer = setTimeout(() => attempt(n + 1), 1500);
        } else {
          setLoad({ state: "ready", data: body });
        }
      } catch {
        if (live) setLoad({ state: "error", message: "The backend did not answer." });
      }
    };
    attempt(0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [connection]);

  if (connection.kind === "unknown" || connection.kind === "none") return null;
  if (connection.kind === "failed") {
    return (
      <p className="status status-error" role="alert" data-testid="example-status">
        {connection.message} Please try again.
      </p>
    );
  }
  return (
    <section className="card" aria-labelledby="holdings-title">
      <p className="status" role="status" data-testid="example-status">
        {STATUS[connection.kind]}
      </p>
      <h2 id="holdings-title">Holdings</h2>
      <div data-testid="example-holdings" aria-busy={load.state === "loading" || load.state === "syncing"}>
        {load.state === "loading" && <p className="muted">Loading your holdings…</p>}
        {load.state === "syncing" && <p className="muted">Your wallets are syncing; balances appear in a moment…</p>}
        {load.state === "error" && (
          <p className="status status-error" role="alert">
            {load.message}
          </p>
        )}
        {load.state === "ready" && <HoldingsTable data={load.data} />}
      </div>
    </section>
  );
}

function HoldingsTable({ data }: { data: HoldingsResponse }) {
  if (data.holdings.length === 0) return <p className="muted">No assets found in the connected accounts.</p>;
  const currency = data.holdings[0]?.baseCurrency ?? "USD";
  return (
    <>
      <p className="total">
        <span className="muted">Total value</span>
        <strong data-testid="example-total">{money(data.summary.totalValue, currency)}</strong>
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Asset</th>
            <th scope="col" className="num">
              Quantity
            </th>
            <th scope="col" className="num hide-narrow">
              Price
            </th>
            <th scope="col" className="num">
              Value
            </th>
          </tr>
        </thead>
        <tbody>
          {data.holdings.map((h) => (
            <tr key={`${h.asset.chainId}:${h.asset.symbol}`} data-testid={`holding-${h.asset.symbol}`}>
              <th scope="row">
                <span className="symbol">{h.asset.symbol}</span>
                <span className="muted name">{h.asset.publicName}</span>
              </th>
              <td className="num">{quantity(h.totalQuantity)}</td>
              <td className="num hide-narrow">{money(h.marketPrice, h.baseCurrency)}</td>
              <td className="num">{money(h.marketValue, h.baseCurrency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
