/** The few strings the host-side overlay shows itself (the widget translates everything else). */

interface NoticeText {
  close: string;
  originTitle: string;
  originLead: (origin: string) => string;
  originDev: string;
  configTitle: string;
  configLead: string;
}

const TEXT: Record<"en" | "fr", NoticeText> = {
  en: {
    close: "Close",
    originTitle: "Kryptos Connect is not set up for this site",
    originLead: (origin) =>
      `This page (${origin}) is not allowed to open Kryptos Connect for this app, so nothing can be shared from here. Please try again later or contact the site's support.`,
    originDev: "For the developer — register this origin on the Kryptos Connect server:",
    configTitle: "Kryptos Connect is not configured",
    configLead: "This app did not give its Kryptos Connect client id, so the connection cannot start.",
  },
  fr: {
    close: "Fermer",
    originTitle: "Kryptos Connect n’est pas configuré pour ce site",
    originLead: (origin) =>
      `Cette page (${origin}) n’est pas autorisée à ouvrir Kryptos Connect pour cette application : rien ne peut être partagé d’ici. Réessayez plus tard ou contactez le support du site.`,
    originDev: "Pour le développeur — enregistrez cette origine sur le serveur Kryptos Connect :",
    configTitle: "Kryptos Connect n’est pas configuré",
    configLead: "Cette application n’a pas fourni son identifiant client Kryptos Connect : la connexion ne peut pas démarrer.",
  },
};

/** The overlay's strings in `language` (English unless French is asked for). */
export function noticeText(language: string): NoticeText {
  return /^fr\b/i.test(language) ? TEXT.fr : TEXT.en;
}

/** The CLI command that registers `origin` for `clientId`. */
export function addOriginCommand(clientId: string, origin: string): string {
  return `kryptos-connect clients update ${clientId} --add-origin ${origin}`;
}
