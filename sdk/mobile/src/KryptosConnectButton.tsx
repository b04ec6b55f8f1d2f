import { useCallback, useState } from "react";
import type { ReactElement } from "react";
import { Pressable, StyleSheet, Text } from "react-native";
import { useKryptosConnectConfig } from "./context";
import { KryptosConnectModal } from "./KryptosConnectModal";
import { PALETTES } from "./theme";
import type { KryptosConnectButtonProps } from "./types";

const DEFAULT_LABEL = "Connect to Kryptos";

/**
 * A button that opens Kryptos Connect: on press it calls `generateLinkToken`, shows the
 * widget in a full-screen modal, and ends with exactly one `onSuccess(userConsent)` or
 * `onError(error)`.
 */
export function KryptosConnectButton({
  generateLinkToken,
  onSuccess,
  onError,
  children,
  style,
  textStyle,
  disabled,
  testID,
}: KryptosConnectButtonProps): ReactElement {
  const { theme } = useKryptosConnectConfig();
  const palette = PALETTES[theme];
  const [open, setOpen] = useState(false);
  const press = useCallback(() => setOpen(true), []);
  const content = children ?? DEFAULT_LABEL;
  const inactive = disabled === true || open;

  return (
    <>
      <Pressable
        onPress={press}
        disabled={inactive}
        accessibilityRole="button"
        accessibilityState={{ disabled: inactive, busy: open }}
        testID={testID ?? "kryptos-connect-button"}
        style={({ pressed }) => [
          styles.button,
          { backgroundColor: palette.primary, opacity: disabled ? 0.5 : pressed ? 0.85 : 1 },
          style,
        ]}
      >
        {typeof content === "string" || typeof content === "number" ? (
          <Text style={[styles.label, { color: palette.primaryText }, textStyle]}>{content}</Text>
        ) : (
          content
        )}
      </Pressable>
      <KryptosConnectModal
        open={open}
        setOpen={setOpen}
        generateLinkToken={generateLinkToken}
        onSuccess={onSuccess}
        onError={onError}
      />
    </>
  );
}

const styles = StyleSheet.create({
  button: {
    minHeight: 48,
    borderRadius: 10,
    paddingHorizontal: 20,
    paddingVertical: 12,
    alignItems: "center",
    justifyContent: "center",
  },
  label: { fontSize: 16, fontWeight: "600", textAlign: "center" },
});
