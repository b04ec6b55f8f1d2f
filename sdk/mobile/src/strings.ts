/** Text of the native screens (the widget translates itself). */
export interface Strings {
  loading: string;
  cancel: string;
  failedTitle: string;
  failedLead: string;
  retry: string;
  close: string;
  httpStatus: (status: number) => string;
}

const EN: Strings = {
  loading: "Opening Kryptos Connect…",
  cancel: "Cancel",
  failedTitle: "Kryptos Connect can’t be reached",
  failedLead: "Check your connection and try again.",
  retry: "Try again",
  close: "Close",
  httpStatus: (status) => `The server answered with HTTP ${status}.`,
};

const FR: Strings = {
  loading: "Ouverture de Kryptos Connect…",
  cancel: "Annuler",
  failedTitle: "Kryptos Connect est injoignable",
  failedLead: "Vérifiez votre connexion puis réessayez.",
  retry: "Réessayer",
  close: "Fermer",
  httpStatus: (status) => `Le serveur a répondu HTTP ${status}.`,
};

/** English, or French when `language` is French. */
export function stringsFor(language: string | undefined): Strings {
  return language && /^fr\b/i.test(language) ? FR : EN;
}
