import * as React from "react";
import type { OpenOptions } from "../core/types";
import { ConfigContext } from "./context";
import { core, globalConfig, type KryptosConnectProviderConfig, toCoreConfig } from "./sdk";

/** What {@link useKryptosConnect} returns. */
export interface UseKryptosConnect {
  /** Runs the flow (awaits `generateLinkToken`, then shows the widget); ignored while one is open. */
  open(options: OpenOptions): Promise<void>;
  /** Closes the open widget; its error callback receives code `CLOSED`. */
  close(): void;
  /** The widget is on screen. */
  isOpen: boolean;
  /** `generateLinkToken()` is in flight. */
  isLoading: boolean;
  /** The configuration in effect here (the nearest provider's, else `KryptosConnect.init`'s). */
  config: Partial<KryptosConnectProviderConfig>;
}

/** Opens the flow without the button, e.g. from a menu item: `const { open } = useKryptosConnect()`. */
export function useKryptosConnect(): UseKryptosConnect {
  const provided = React.useContext(ConfigContext);
  const [state, setState] = React.useState(core.state);
  React.useEffect(() => {
    const update = (): void => setState(core.state());
    update();
    return core.subscribe(update);
  }, []);
  const config = provided || globalConfig();
  const open = React.useCallback(
    (options: OpenOptions) => core.open(options, provided ? toCoreConfig(provided) : undefined),
    [provided],
  );
  const close = React.useCallback(() => core.close(), []);
  return { open, close, isOpen: state.open, isLoading: state.opening, config };
}
